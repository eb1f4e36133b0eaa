//! Parquet files as rows of JSON objects (reading any veRL-style file) and
//! writing rows against a declared Arrow schema.

use std::fs::File;
use std::path::Path;

use arrow_schema::SchemaRef;
use metaalign_core::{Error, Result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use super::arrow_json::{batch_rows, rows_to_batch};

fn parquet_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::data(format!("{}: {what}: {e}", path.display()))
}

/// The column names of a parquet file (from its footer only).
pub fn column_names(path: &Path) -> Result<Vec<String>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_error(path, "not a readable parquet file", e))?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

/// Every row of a parquet file as a JSON object keyed by column name.
pub fn read_rows(path: &Path) -> Result<Vec<Map<String, Value>>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_error(path, "not a readable parquet file", e))?
        .build()
        .map_err(|e| parquet_error(path, "cannot read", e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| parquet_error(path, "cannot decode", e))?;
        rows.extend(batch_rows(&batch).map_err(|e| parquet_error(path, "cannot decode", e))?);
    }
    Ok(rows)
}

/// Writes rows against `schema` (snappy-compressed, like the paper's
/// files), through a temporary file renamed into place.
pub fn write_rows(path: &Path, schema: SchemaRef, rows: &[Map<String, Value>]) -> Result<()> {
    let batch = rows_to_batch(schema.clone(), rows)
        .map_err(|e| parquet_error(path, "cannot convert rows", e))?;
    metaalign_core::atomic::write_via_tmp(path, |tmp| {
        let file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(|e| parquet_error(path, "cannot start writing", e))?;
        writer
            .write(&batch)
            .map_err(|e| parquet_error(path, "cannot write", e))?;
        writer
            .close()
            .map_err(|e| parquet_error(path, "cannot finish writing", e))?;
        Ok(())
    })
}
