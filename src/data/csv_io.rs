//! Reading CSV into [`Data`] with type inference.

use super::{Column, Data, Factor};
use crate::error::{Error, Result};

fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell == "NA"
}

pub(super) fn read_csv<R: std::io::Read>(reader: R) -> Result<Data> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Csv {
            row: None,
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(Error::Csv {
            row: None,
            message: "the file has no header row".into(),
        });
    }
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| Error::Csv {
            row: Some(i + 1),
            message: e.to_string(),
        })?;
        for (j, cell) in rec.iter().enumerate() {
            cells[j].push(cell.to_string());
        }
    }
    let mut data = Data::new();
    let n = cells.first().map_or(0, Vec::len);
    if n == 0 {
        return Err(Error::Csv {
            row: None,
            message: "the file has a header but no data rows".into(),
        });
    }
    for (name, col) in headers.iter().zip(cells) {
        let numeric: Option<Vec<Option<f64>>> = col
            .iter()
            .map(|c| {
                if is_missing(c) {
                    Some(None)
                } else {
                    c.parse::<f64>().ok().map(Some)
                }
            })
            .collect();
        let column = match numeric {
            Some(values) => {
                if let Some((row, x)) = values
                    .iter()
                    .enumerate()
                    .find_map(|(i, x)| x.filter(|v| !v.is_finite()).map(|v| (i + 1, v)))
                {
                    return Err(Error::InvalidValue {
                        column: name.clone(),
                        row,
                        value: x.to_string(),
                        reason: "not a finite number (write NA or leave the cell empty for a missing value)".into(),
                    });
                }
                Column::Numeric(values)
            }
            None => {
                let vals: Vec<Option<&str>> = col
                    .iter()
                    .map(|c| {
                        if is_missing(c) {
                            None
                        } else {
                            Some(c.as_str())
                        }
                    })
                    .collect();
                Column::Categorical(Factor::from_strings(&vals))
            }
        };
        data.add_column(name, column)?;
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_and_missing() {
        let d = Data::from_csv_reader("y,g,x\n1.5,a,NA\n2,b,3\n,a,4\n".as_bytes()).unwrap();
        assert_eq!(d.numeric("y").unwrap(), [Some(1.5), Some(2.0), None]);
        assert_eq!(d.factor("g").unwrap().levels(), ["a", "b"]);
        assert_eq!(d.numeric("x").unwrap(), [None, Some(3.0), Some(4.0)]);
    }

    #[test]
    fn nan_is_an_error_with_row_and_column() {
        let e = Data::from_csv_reader("y,x\n1,2\n2,NaN\n".as_bytes()).unwrap_err();
        assert!(
            matches!(e, Error::InvalidValue { ref column, row: 2, .. } if column == "x"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_header_and_ragged_rows() {
        let e = Data::from_csv_reader("y,y\n1,2\n".as_bytes()).unwrap_err();
        assert!(matches!(e, Error::DuplicateColumn { .. }));
        let e = Data::from_csv_reader("y,x\n1,2\n3\n".as_bytes()).unwrap_err();
        assert!(matches!(e, Error::Csv { row: Some(2), .. }), "{e}");
    }
}

/// Write a data set as CSV: a header, numbers in their shortest round-trip form, `NA` for
/// missing values, categorical labels quoted as needed.
pub(super) fn write_csv<W: std::io::Write>(data: &Data, writer: W) -> Result<()> {
    let mut w = csv::Writer::from_writer(writer);
    let err = |e: csv::Error| Error::Csv {
        row: None,
        message: e.to_string(),
    };
    w.write_record(data.names()).map_err(err)?;
    let cols: Vec<&Column> = data
        .names()
        .iter()
        .map(|n| data.column(n))
        .collect::<Result<_>>()?;
    for r in 0..data.nrows() {
        let rec: Vec<String> = cols
            .iter()
            .map(|c| match c {
                Column::Numeric(v) => v[r].map_or("NA".to_string(), |x| x.to_string()),
                Column::Categorical(f) => f.label(r).map_or("NA".to_string(), str::to_string),
            })
            .collect();
        w.write_record(&rec).map_err(err)?;
    }
    w.flush().map_err(|e| Error::Csv {
        row: None,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod roundtrip {
    use super::*;

    #[test]
    fn write_then_read_is_identity() {
        let d = Data::new()
            .with_numeric_opt("x", vec![Some(0.1), None, Some(-3.25e-7)])
            .unwrap()
            .with_categorical("g", vec!["b, with comma", "a", "b, with comma"])
            .unwrap();
        let mut buf = Vec::new();
        d.write_csv(&mut buf).unwrap();
        assert_eq!(Data::from_csv_reader(buf.as_slice()).unwrap(), d);
    }
}
