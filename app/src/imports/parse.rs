//! Reading an uploaded contact file from disk as a stream of rows: CSV in any of the encodings
//! and delimiters people's tools write, or the first (or a chosen) sheet of an XLSX workbook.
//! Rows are read one at a time; only a workbook's table of shared strings is held whole
//! (calamine reads it when it opens the file).

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

pub use super::{FileFormat, TextEncoding, DELIMITERS};

impl TextEncoding {
    pub(super) fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Utf16Le => encoding_rs::UTF_16LE,
            TextEncoding::Utf16Be => encoding_rs::UTF_16BE,
            TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
        }
    }
}

/// Why a file cannot be read, in words for the person who uploaded it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("The file is empty.")]
    Empty,
    #[error("This is an Excel 97–2003 workbook (.xls). Save it as .xlsx or CSV and upload that.")]
    OldExcel,
    #[error("This file is neither a CSV file nor an Excel workbook (.xlsx).")]
    NotTabular,
    #[error("The workbook cannot be read: {0}")]
    Workbook(String),
    #[error("The workbook has no sheet named “{0}”.")]
    NoSuchSheet(String),
    #[error("The file starts with a UTF-8 mark but is not valid UTF-8. Save it again as “CSV UTF-8” and upload that.")]
    BadUtf8,
    #[error("The quote (\") that opens a cell on line {line} is never closed, so the rest of the file would read as one cell. Close it, or remove it, and upload the file again.")]
    UnclosedQuote { line: u64 },
    #[error("Row {row} cannot be read: {reason}")]
    Row { row: u64, reason: String },
    #[error("The file could not be read from the server's disk.")]
    Io,
}

impl From<std::io::Error> for FileError {
    fn from(err: std::io::Error) -> Self {
        tracing::error!(error = %err, "reading an uploaded file failed");
        FileError::Io
    }
}

/// One row of the file: its number as a spreadsheet would show it (from 1) and its cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<String>,
}

/// Looks at the file and says how to read it: the format from its first bytes, for CSV the
/// encoding (a byte-order mark, else valid UTF-8 all the way through, else Windows-1252) and the
/// delimiter that splits its first lines most consistently; for XLSX the sheets, the first chosen.
pub fn sniff(path: &Path) -> Result<FileFormat, FileError> {
    let mut head = Vec::with_capacity(8192);
    File::open(path)?.take(8192).read_to_end(&mut head)?;
    if head.is_empty() {
        return Err(FileError::Empty);
    }
    if head.starts_with(b"PK\x03\x04") {
        let sheets = sheet_names(path)?;
        let sheet = sheets.first().cloned().ok_or(FileError::Workbook("it has no sheets".into()))?;
        return Ok(FileFormat::Xlsx { sheet, sheets });
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(FileError::OldExcel);
    }
    let encoding = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        if !is_utf8(path)? {
            return Err(FileError::BadUtf8);
        }
        TextEncoding::Utf8
    } else if head.starts_with(&[0xFF, 0xFE]) {
        TextEncoding::Utf16Le
    } else if head.starts_with(&[0xFE, 0xFF]) {
        TextEncoding::Utf16Be
    } else if head.contains(&0) {
        return Err(FileError::NotTabular);
    } else if is_utf8(path)? {
        TextEncoding::Utf8
    } else {
        TextEncoding::Windows1252
    };
    let delimiter = sniff_delimiter(path, encoding)?;
    check_quotes(path, encoding, delimiter)?;
    Ok(FileFormat::Csv { encoding, delimiter })
}

/// Refuses a file in which a quoted cell never closes. The CSV reader forgives that silently:
/// the cell runs to the end of the file, swallowing every row after it. This follows the
/// reader's own rule that only a quote at the start of a cell opens one (`5" screen` is text).
fn check_quotes(path: &Path, encoding: TextEncoding, delimiter: u8) -> Result<(), FileError> {
    #[derive(PartialEq)]
    enum At {
        CellStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut at = At::CellStart;
    let (mut line, mut opened_on) = (1u64, 1u64);
    let mut reader = BufReader::with_capacity(1 << 16, text_reader(path, encoding)?);
    loop {
        let buf = std::io::BufRead::fill_buf(&mut reader)?;
        if buf.is_empty() {
            break;
        }
        for &b in buf {
            at = match (at, b) {
                (At::CellStart, b'"') => {
                    opened_on = line;
                    At::Quoted
                }
                (At::Quoted, b'"') => At::QuoteInQuoted,
                (At::QuoteInQuoted, b'"') => At::Quoted,
                (At::Quoted, _) => At::Quoted,
                (_, b'\n' | b'\r') => At::CellStart,
                (_, b) if b == delimiter => At::CellStart,
                (At::CellStart | At::Unquoted | At::QuoteInQuoted, _) => At::Unquoted,
            };
            if b == b'\n' {
                line += 1;
            }
        }
        let used = buf.len();
        std::io::BufRead::consume(&mut reader, used);
    }
    if at == At::Quoted {
        return Err(FileError::UnclosedQuote { line: opened_on });
    }
    Ok(())
}

/// Whether the whole file is valid UTF-8, read in pieces.
fn is_utf8(path: &Path) -> Result<bool, FileError> {
    let mut file = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut buf = vec![0u8; 1 << 16];
    let mut carried = 0;
    loop {
        let read = file.read(&mut buf[carried..])?;
        let filled = carried + read;
        match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => carried = 0,
            // A character cut by the end of this piece: keep its start for the next one.
            Err(e) if e.error_len().is_none() && read > 0 => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..filled, 0);
                carried = filled - valid;
            }
            Err(_) => return Ok(false),
        }
        if read == 0 {
            return Ok(carried == 0);
        }
    }
}

fn text_reader(path: &Path, encoding: TextEncoding) -> Result<impl Read, FileError> {
    let file = File::open(path)?;
    Ok(encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding.encoding()))
        .bom_sniffing(true)
        .build(BufReader::with_capacity(1 << 16, file)))
}

/// The delimiter whose split of the first 50 records gives the most rows of one width wider
/// than one column; a file of one column reads as comma-separated.
fn sniff_delimiter(path: &Path, encoding: TextEncoding) -> Result<u8, FileError> {
    let mut sample = Vec::new();
    text_reader(path, encoding)?.take(1 << 16).read_to_end(&mut sample)?;
    // Cut at the last line break so a record is not judged by half of it.
    if sample.len() == 1 << 16 {
        if let Some(end) = sample.iter().rposition(|&b| b == b'\n') {
            sample.truncate(end + 1);
        }
    }
    let mut best = (b',', 0usize, 0usize);
    for delimiter in DELIMITERS {
        let mut widths = std::collections::HashMap::<usize, usize>::new();
        let mut reader = csv_reader(&sample[..], delimiter);
        for record in reader.byte_records().take(50) {
            let Ok(record) = record else { break };
            *widths.entry(record.len()).or_default() += 1;
        }
        let (width, rows) = widths.into_iter().max_by_key(|&(width, rows)| (rows, width)).unwrap_or((1, 0));
        if width > 1 && (rows, width) > (best.1, best.2) {
            best = (delimiter, rows, width);
        }
    }
    Ok(best.0)
}

/// A CSV reading error in words: the text has been decoded already, so what is left is the
/// disk or the file changing under the reader.
fn csv_reason(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Io(_) => "the file could not be read to its end".to_owned(),
        csv::ErrorKind::Utf8 { .. } => "it is not valid text in the file's encoding".to_owned(),
        _ => err.to_string(),
    }
}

fn csv_reader<R: Read>(reader: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(reader)
}

/// The sheets of an XLSX workbook, in their order.
pub fn sheet_names(path: &Path) -> Result<Vec<String>, FileError> {
    use calamine::Reader;
    let workbook: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(workbook_error)?;
    Ok(workbook.sheet_names())
}

/// A zip without a workbook inside (a Word document, an OpenDocument file) is no table; a
/// damaged one is a workbook that cannot be read.
fn workbook_error(err: calamine::XlsxError) -> FileError {
    match err {
        calamine::XlsxError::FileNotFound(_) => FileError::NotTabular,
        calamine::XlsxError::Zip(_) => {
            FileError::Workbook("it is damaged or incomplete (was the upload cut short?)".to_owned())
        }
        calamine::XlsxError::WorksheetNotFound(name) => FileError::NoSuchSheet(name),
        other => FileError::Workbook(other.to_string()),
    }
}

/// Calls `each` with every row of the file, in order, until it breaks. Empty rows are skipped;
/// in a workbook a row's cells are laid out by column, so a gap becomes an empty cell.
pub fn read_rows<E: From<FileError>>(
    path: &Path,
    format: &FileFormat,
    mut each: impl FnMut(Row) -> Result<ControlFlow<()>, E>,
) -> Result<(), E> {
    match format {
        FileFormat::Csv { encoding, delimiter } => {
            let mut reader = csv_reader(text_reader(path, *encoding)?, *delimiter);
            let mut record = csv::StringRecord::new();
            // Rows are numbered as a spreadsheet shows the file: a quoted line break stays in its
            // cell, and an empty line (which the reader skips) is a row of its own.
            let (mut number, mut next_line) = (0u64, 1u64);
            loop {
                let read = reader
                    .read_record(&mut record)
                    .map_err(|e| FileError::Row { row: number + 1, reason: csv_reason(&e) })?;
                if !read {
                    return Ok(());
                }
                let line = record.position().map_or(next_line, |p| p.line());
                number += 1 + line.saturating_sub(next_line);
                let breaks = record.iter().map(|cell| cell.matches('\n').count() as u64).sum::<u64>();
                next_line = line + breaks + 1;
                if record.iter().all(str::is_empty) {
                    continue;
                }
                let cells = record.iter().map(str::to_owned).collect();
                if each(Row { number, cells })?.is_break() {
                    return Ok(());
                }
            }
        }
        FileFormat::Xlsx { sheet, .. } => read_sheet(path, sheet, each),
    }
}

fn read_sheet<E: From<FileError>>(
    path: &Path,
    sheet: &str,
    mut each: impl FnMut(Row) -> Result<ControlFlow<()>, E>,
) -> Result<(), E> {
    use calamine::Reader;
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(path).map_err(workbook_error)?;
    if !workbook.sheet_names().iter().any(|s| s == sheet) {
        return Err(FileError::NoSuchSheet(sheet.to_owned()).into());
    }
    let mut cells = workbook.worksheet_cells_reader(sheet).map_err(workbook_error)?;
    let mut row: Option<Row> = None;
    while let Some(cell) = cells.next_cell().map_err(workbook_error)? {
        let (r, c) = (u64::from(cell.get_position().0) + 1, cell.get_position().1 as usize);
        let text = cell_text(cell.get_value());
        if row.as_ref().is_some_and(|row| row.number != r) {
            if let Some(done) = row.take().filter(|row| !row.cells.iter().all(String::is_empty)) {
                if each(done)?.is_break() {
                    return Ok(());
                }
            }
        }
        let current = row.get_or_insert_with(|| Row { number: r, cells: Vec::new() });
        if text.is_empty() {
            continue;
        }
        if current.cells.len() <= c {
            current.cells.resize(c + 1, String::new());
        }
        current.cells[c] = text;
    }
    if let Some(done) = row.filter(|row| !row.cells.iter().all(String::is_empty)) {
        // The last row: there is nothing left to stop.
        let _ = each(done)?;
    }
    Ok(())
}

/// A workbook cell as the text an import reads: numbers without a needless `.0`, dates as
/// `YYYY-MM-DD` (with `THH:MM:SS` when they have a time), yes/no for booleans.
fn cell_text(value: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => d.as_f64().to_string(),
        },
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// The first `rows` rows, for the preview.
pub fn preview(path: &Path, format: &FileFormat, rows: usize) -> Result<Vec<Row>, FileError> {
    let mut found = Vec::with_capacity(rows.min(64));
    read_rows::<FileError>(path, format, |row| {
        found.push(row);
        Ok(if found.len() >= rows { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    Ok(found)
}
