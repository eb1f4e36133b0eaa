"""Compares the columns and Arrow types of a `metaalign export` with the
paper's released files, and reads both with pandas. Usage:
    python scripts/check_export_schema.py EXPORT_DIR PAPER_DIR
"""
import sys
import pathlib

import pandas as pd
import pyarrow.parquet as pq

export, paper = map(pathlib.Path, sys.argv[1:3])
ok = True
for ability in ["Deduction", "Induction", "Abduction"]:
    theirs = pq.read_schema(paper / ability / "1" / "train.parquet").remove_metadata()
    for f in sorted((export / ability).glob("*/*.parquet")):
        ours = pq.read_schema(f).remove_metadata()
        frame = pd.read_parquet(f)
        same, differ = [], []
        for field in theirs:
            if field.name not in ours.names:
                differ.append(f"{field.name}: missing")
            elif ours.field(field.name).type.equals(field.type):
                same.append(field.name)
            else:
                differ.append(f"{field.name}: {ours.field(field.name).type} vs paper {field.type}")
        extra = [n for n in ours.names if n not in theirs.names]
        order = [n for n in ours.names if n in theirs.names] == theirs.names
        print(f"{f.relative_to(export)}: {len(frame)} rows; {len(same)}/{len(theirs)} paper columns with identical types; "
              f"order {'same' if order else 'DIFFERENT'}; extra columns {extra}")
        for d in differ:
            print("   differs:", d)
        ok = ok and order and (not differ or all(d.startswith("extra_info") for d in differ))
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
