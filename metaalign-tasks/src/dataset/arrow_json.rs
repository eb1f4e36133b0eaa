//! Conversion between Arrow arrays and JSON values, for the handful of
//! types the veRL parquet layout uses (strings, integers, booleans, floats,
//! lists, structs, nulls). Reading goes row by row to `serde_json::Value`;
//! writing builds each column from JSON values against a declared schema,
//! so the written types are exactly the declared ones.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, ListArray, NullArray, RecordBatch, StringArray,
    StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Fields, SchemaRef};
use metaalign_core::{Error, Result};
use serde_json::{Map, Number, Value};

/// The value at `row` of `array` as JSON (null for a null slot).
pub fn value_at(array: &dyn Array, row: usize) -> Result<Value> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_string()),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::List(_) => list(array.as_list::<i32>().value(row).as_ref())?,
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row).as_ref())?,
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut map = Map::new();
            for (i, field) in fields.iter().enumerate() {
                map.insert(field.name().clone(), value_at(s.column(i).as_ref(), row)?);
            }
            Value::Object(map)
        }
        other => {
            return Err(Error::data(format!(
                "unsupported parquet column type {other} (expected strings, integers, booleans, floats, lists or structs)"
            )))
        }
    })
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn list(values: &dyn Array) -> Result<Value> {
    (0..values.len())
        .map(|i| value_at(values, i))
        .collect::<Result<Vec<_>>>()
        .map(Value::Array)
}

/// Every row of a batch as a JSON object keyed by column name.
pub fn batch_rows(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|row| {
            let mut map = Map::new();
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                map.insert(field.name().clone(), value_at(column.as_ref(), row)?);
            }
            Ok(map)
        })
        .collect()
}

/// Builds a record batch of `schema` from JSON rows (objects). A missing
/// key is a null; a value of the wrong JSON type is an error naming the
/// column.
pub fn rows_to_batch(schema: SchemaRef, rows: &[Map<String, Value>]) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let values: Vec<Option<&Value>> = rows.iter().map(|r| r.get(field.name())).collect();
            build(field.data_type(), &values, field.name())
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    RecordBatch::try_new(schema, columns)
        .map_err(|e| Error::data(format!("cannot assemble parquet rows: {e}")))
}

fn is_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

fn null_buffer(values: &[Option<&Value>]) -> Option<NullBuffer> {
    if values.iter().any(|v| is_null(*v)) {
        Some(NullBuffer::from(
            values.iter().map(|v| !is_null(*v)).collect::<Vec<bool>>(),
        ))
    } else {
        None
    }
}

fn wrong(column: &str, expected: &str, got: &Value) -> Error {
    let mut shown = got.to_string();
    if shown.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| shown.is_char_boundary(i))
            .unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    Error::data(format!(
        "column `{column}`: expected {expected}, got {shown}"
    ))
}

fn build(dt: &DataType, values: &[Option<&Value>], column: &str) -> Result<ArrayRef> {
    Ok(match dt {
        DataType::Null => Arc::new(NullArray::new(values.len())),
        DataType::Utf8 => {
            let items = values
                .iter()
                .map(|v| match v {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(other) => Err(wrong(column, "a string", other)),
                })
                .collect::<Result<Vec<_>>>()?;
            Arc::new(StringArray::from(items))
        }
        DataType::Int64 => {
            let items = values
                .iter()
                .map(|v| match v {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
                    Some(other) => Err(wrong(column, "a 64-bit integer", other)),
                })
                .collect::<Result<Vec<_>>>()?;
            Arc::new(Int64Array::from(items))
        }
        DataType::Boolean => {
            let items = values
                .iter()
                .map(|v| match v {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Bool(b)) => Ok(Some(*b)),
                    Some(other) => Err(wrong(column, "a boolean", other)),
                })
                .collect::<Result<Vec<_>>>()?;
            Arc::new(BooleanArray::from(items))
        }
        DataType::List(field) => {
            let mut lengths = Vec::with_capacity(values.len());
            let mut children: Vec<Option<&Value>> = Vec::new();
            for v in values {
                match v {
                    None | Some(Value::Null) => lengths.push(0),
                    Some(Value::Array(items)) => {
                        lengths.push(items.len());
                        children.extend(items.iter().map(Some));
                    }
                    Some(other) => return Err(wrong(column, "a list", other)),
                }
            }
            let child = build(field.data_type(), &children, column)?;
            Arc::new(
                ListArray::try_new(
                    field.clone(),
                    OffsetBuffer::from_lengths(lengths),
                    child,
                    null_buffer(values),
                )
                .map_err(|e| Error::data(format!("column `{column}`: {e}")))?,
            )
        }
        DataType::Struct(fields) => build_struct(fields, values, column)?,
        other => {
            return Err(Error::data(format!(
                "column `{column}`: writing type {other} is not supported"
            )))
        }
    })
}

fn build_struct(fields: &Fields, values: &[Option<&Value>], column: &str) -> Result<ArrayRef> {
    for v in values.iter().flatten() {
        if !matches!(v, Value::Null | Value::Object(_)) {
            return Err(wrong(column, "an object", v));
        }
    }
    let children = fields
        .iter()
        .map(|f| {
            let sub: Vec<Option<&Value>> = values
                .iter()
                .map(|v| v.and_then(|v| v.get(f.name())))
                .collect();
            build(f.data_type(), &sub, &format!("{column}.{}", f.name()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(
        StructArray::try_new(fields.clone(), children, null_buffer(values))
            .map_err(|e| Error::data(format!("column `{column}`: {e}")))?,
    ))
}
