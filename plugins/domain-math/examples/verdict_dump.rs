//! Prints one verdict line per corpus file (gold NUL response), for
//! comparing two builds of the verifier. Usage: verdict_dump DIR
use metaalign_domain_math::answer::{self, CompareOptions, Extraction};
fn main() {
    let dir = std::env::args().nth(1).expect("DIR");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let opts = CompareOptions::default();
    let letters = Extraction::from_match_types(&["latex", "expr", "letters"]).unwrap();
    for p in names {
        let data = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&data);
        let (gold, response) = match text.find('\0') {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => ("", &text[..]),
        };
        let v = answer::check(gold, response, &opts);
        let g = answer::parse(gold, &letters);
        let r = answer::parse(response, &letters);
        println!(
            "{} {:?} | {:?} {:?} | {:?} {:?} | {}",
            p.file_name().unwrap().to_string_lossy(),
            v.equal,
            g.shown(),
            g.reason(),
            r.shown(),
            r.reason(),
            answer::verify(&g, &r, &opts).equal
        );
    }
}
