//! Files of rows finance and engineers import (payments, opening balances): a header naming
//! the columns, then one record per row. Each row comes back with its line number, so every
//! bad row can be named as `FILE:LINE: message`.

use std::path::Path;

use serde::de::DeserializeOwned;

/// A row's line number in the file, and the row or why it could not be read.
pub type Row<T> = (u64, Result<T, String>);

/// The rows of `text` (read from `path`), each deserialized or with why it could not be; a
/// header without one of `needed` is one error naming `columns` (the columns as documented).
pub fn rows<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    needed: &[&str],
    columns: &str,
) -> Result<Vec<Row<T>>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let file = path.display();
    let headers = reader
        .headers()
        .map_err(|e| vec![format!("{file}:1: {e}")])?
        .clone();
    for column in needed {
        if !headers.iter().any(|h| h == *column) {
            return Err(vec![format!(
                "{file}:1: the header needs columns {columns}; `{column}` is missing"
            )]);
        }
    }
    Ok(reader
        .records()
        .map(|record| match record {
            Ok(rec) => (
                rec.position().map_or(0, |p| p.line()),
                rec.deserialize::<T>(Some(&headers))
                    .map_err(|e| e.to_string()),
            ),
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(e.to_string())),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Pair {
        a: String,
        b: u32,
    }

    #[test]
    fn rows_carry_their_line_and_a_missing_column_is_named() {
        let path = Path::new("x.csv");
        let got = rows::<Pair>(path, "a,b\nx,1\ny,nope\n", &["a", "b"], "a,b").unwrap();
        assert_eq!(got.len(), 2);
        let first = got[0].1.as_ref().unwrap();
        assert_eq!((got[0].0, first.a.as_str(), first.b), (2, "x", 1));
        assert_eq!(got[1].0, 3);
        assert!(got[1].1.is_err());
        let err = rows::<Pair>(path, "a\nx\n", &["a", "b"], "a,b[,c]").unwrap_err();
        assert_eq!(
            err,
            vec!["x.csv:1: the header needs columns a,b[,c]; `b` is missing"]
        );
    }
}
