fn main() {
    metaalign::link_builtins();
    println!("metaalign");
}
