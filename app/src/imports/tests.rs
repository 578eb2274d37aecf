//! Reading uploaded files and suggesting their mapping: encodings, delimiters, quoting, workbooks
//! with typed cells, and the files people upload by mistake.

use std::path::PathBuf;

use super::mapping::{normalise, suggest_all};
use super::parse::{preview, read_rows, sniff, FileError, FileFormat, Row, TextEncoding};
use super::ColumnTarget;

/// A file in the temporary directory, removed when the test ends.
struct Upload(PathBuf);

impl Upload {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let path =
            std::env::temp_dir().join(format!("crm-import-{}-{}-{name}", std::process::id(), next_id()));
        std::fs::write(&path, bytes).unwrap();
        Upload(path)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn cells(rows: &[Row]) -> Vec<Vec<&str>> {
    rows.iter().map(|r| r.cells.iter().map(String::as_str).collect()).collect()
}

fn read_all(upload: &Upload) -> (FileFormat, Vec<Row>) {
    let format = sniff(&upload.0).unwrap();
    (format.clone(), preview(&upload.0, &format, usize::MAX).unwrap())
}

const PEOPLE: &str = "Vorname;Nachname;E-Mail\nJürgen;Groß;jurgen@example.de\nZoë;Ålund;zoe@example.se\n李;小龍;lee@example.cn\n";

#[test]
fn utf8_with_or_without_a_byte_order_mark_reads_the_same() {
    let plain = Upload::new("plain.csv", PEOPLE.as_bytes());
    let with_bom = Upload::new("bom.csv", &[b"\xEF\xBB\xBF", PEOPLE.as_bytes()].concat());
    for upload in [&plain, &with_bom] {
        let (format, rows) = read_all(upload);
        assert_eq!(format, FileFormat::Csv { encoding: TextEncoding::Utf8, delimiter: b';' });
        assert_eq!(
            cells(&rows),
            [
                vec!["Vorname", "Nachname", "E-Mail"],
                vec!["Jürgen", "Groß", "jurgen@example.de"],
                vec!["Zoë", "Ålund", "zoe@example.se"],
                vec!["李", "小龍", "lee@example.cn"],
            ],
            "the first header keeps no byte-order mark"
        );
    }
}

#[test]
fn utf16_with_a_byte_order_mark_is_converted() {
    let text = "Name,Email\nNguyễn Thị,thi@example.vn\n😀 Emoji,emoji@example.com\n";
    let le: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let be: Vec<u8> =
        [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
    for (bytes, encoding) in [(le, TextEncoding::Utf16Le), (be, TextEncoding::Utf16Be)] {
        let upload = Upload::new("utf16.csv", &bytes);
        let (format, rows) = read_all(&upload);
        assert_eq!(format, FileFormat::Csv { encoding, delimiter: b',' });
        assert_eq!(
            cells(&rows)[1..],
            [vec!["Nguyễn Thị", "thi@example.vn"], vec!["😀 Emoji", "emoji@example.com"]]
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_is_read_as_windows_1252() {
    // "Müller;Café;€" as Excel on Windows writes it; the invalid byte is far into the file, past
    // any sample a detector might take from the start.
    let mut bytes = b"Name;Company;Currency\n".to_vec();
    for i in 0..5000 {
        bytes.extend_from_slice(format!("Person {i};Plain Ltd;EUR\n").as_bytes());
    }
    bytes.extend_from_slice(b"M\xFCller;Caf\xE9;\x80\n");
    let upload = Upload::new("cp1252.csv", &bytes);
    let (format, rows) = read_all(&upload);
    assert_eq!(format, FileFormat::Csv { encoding: TextEncoding::Windows1252, delimiter: b';' });
    assert_eq!(cells(&rows).last().unwrap(), &vec!["Müller", "Café", "€"]);
    assert_eq!(rows.len(), 5002);
}

#[test]
fn the_delimiter_is_found_among_comma_semicolon_tab_and_bar() {
    for delimiter in [b',', b';', b'\t', b'|'] {
        let d = delimiter as char;
        // Commas inside quoted cells must not fool the detection for the other delimiters.
        let text =
            format!("Name{d}Company{d}City\n\"Doe, Jane\"{d}\"Acme, Inc.\"{d}Zürich\nKim{d}Läden{d}Köln\n");
        let upload = Upload::new("delimited.csv", text.as_bytes());
        let (format, rows) = read_all(&upload);
        assert_eq!(format, FileFormat::Csv { encoding: TextEncoding::Utf8, delimiter }, "{d:?}");
        assert_eq!(cells(&rows)[1], vec!["Doe, Jane", "Acme, Inc.", "Zürich"], "{d:?}");
    }
}

#[test]
fn quoted_cells_keep_line_breaks_and_quotes_and_rows_count_as_a_spreadsheet_shows_them() {
    let text = "Name,Notes\n\"O'Brien\",\"Said \"\"hi\"\"\nand left\"\n\n,\nÉmile,\"a,b\"\n";
    let upload = Upload::new("quoted.csv", text.as_bytes());
    let (_, rows) = read_all(&upload);
    assert_eq!(
        cells(&rows),
        [vec!["Name", "Notes"], vec!["O'Brien", "Said \"hi\"\nand left"], vec!["Émile", "a,b"]]
    );
    // The empty line and the row of empty cells are skipped, but count as rows, as in a
    // spreadsheet: Émile is on row 5.
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2, 5]);
}

#[test]
fn ragged_rows_are_read_as_they_are() {
    let upload = Upload::new("ragged.csv", b"a,b,c\n1,2\n1,2,3,4\n");
    let (_, rows) = read_all(&upload);
    assert_eq!(cells(&rows), [vec!["a", "b", "c"], vec!["1", "2"], vec!["1", "2", "3", "4"]]);
}

#[test]
fn a_single_column_file_reads_as_one_column() {
    let upload = Upload::new("emails.csv", "Email\nana@example.com\nbjörn@example.se\n".as_bytes());
    let (format, rows) = read_all(&upload);
    assert_eq!(format, FileFormat::Csv { encoding: TextEncoding::Utf8, delimiter: b',' });
    assert_eq!(cells(&rows)[2], vec!["björn@example.se"]);
}

#[test]
fn files_that_are_no_table_are_refused_with_a_reason() {
    let empty = Upload::new("empty.csv", b"");
    assert_eq!(sniff(&empty.0), Err(FileError::Empty));
    let png = Upload::new("photo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0");
    assert_eq!(sniff(&png.0), Err(FileError::NotTabular));
    let xls = Upload::new("old.xls", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0\0\0");
    assert_eq!(sniff(&xls.0), Err(FileError::OldExcel));
    let broken_zip = Upload::new("broken.xlsx", b"PK\x03\x04 this is not really a workbook");
    assert!(matches!(sniff(&broken_zip.0), Err(FileError::Workbook(_))));
    let bad_bom = Upload::new("bad-bom.csv", b"\xEF\xBB\xBFName\nM\xFCller\n");
    assert_eq!(sniff(&bad_bom.0), Err(FileError::BadUtf8));
    for err in [FileError::Empty, FileError::NotTabular, FileError::OldExcel] {
        assert!(err.to_string().ends_with('.'), "a sentence: {err}");
    }
}

#[test]
fn a_header_without_rows_reads_as_one_row() {
    let upload = Upload::new("header.csv", b"First name,Last name\n");
    let (_, rows) = read_all(&upload);
    assert_eq!(cells(&rows), [vec!["First name", "Last name"]]);
}

#[test]
fn a_ten_megabyte_cell_and_a_thousand_columns_are_read() {
    let big = "x".repeat(10 << 20);
    let header: Vec<String> = (0..1000).map(|i| format!("Column {i}")).collect();
    let text = format!("{}\n\"{big}\"{}\n", header.join(","), ",".repeat(999));
    let upload = Upload::new("big.csv", text.as_bytes());
    let (_, rows) = read_all(&upload);
    assert_eq!(rows[0].cells.len(), 1000);
    assert_eq!((rows[1].cells.len(), rows[1].cells[0].len()), (1000, 10 << 20));
}

#[test]
fn reading_stops_when_told_to() {
    let text: String = (0..1000).map(|i| format!("row {i},x\n")).collect();
    let upload = Upload::new("long.csv", text.as_bytes());
    let format = sniff(&upload.0).unwrap();
    let mut seen = 0;
    read_rows::<FileError>(&upload.0, &format, |_| {
        seen += 1;
        Ok(if seen == 20 { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) })
    })
    .unwrap();
    assert_eq!(seen, 20);
    assert_eq!(preview(&upload.0, &format, 20).unwrap().len(), 20);
}

#[test]
fn a_workbook_reads_its_first_sheet_or_the_one_chosen_with_typed_cells_as_text() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let people = workbook.add_worksheet().set_name("People").unwrap();
    for (c, h) in ["Name", "Since", "Last call", "Revenue", "Employees", "Active"].iter().enumerate() {
        people.write_string(0, c as u16, *h).unwrap();
    }
    people.write_string(1, 0, "Ångström, Anders").unwrap();
    people.write_datetime_with_format(1, 1, ExcelDateTime::from_ymd(2024, 2, 29).unwrap(), &date).unwrap();
    let call = ExcelDateTime::from_ymd(2026, 11, 30).unwrap().and_hms(14, 5, 0).unwrap();
    people.write_datetime_with_format(1, 2, call, &stamp).unwrap();
    people.write_number(1, 3, 1234.5).unwrap();
    people.write_number(1, 4, 42.0).unwrap();
    people.write_boolean(1, 5, true).unwrap();
    // A gap: row 3 is empty, and row 4 has only its fourth cell.
    people.write_number(3, 3, 0.1).unwrap();
    let other = workbook.add_worksheet().set_name("Überblick").unwrap();
    other.write_string(0, 0, "Only here").unwrap();
    let upload = Upload::new("people.xlsx", &workbook.save_to_buffer().unwrap());

    let (format, rows) = read_all(&upload);
    assert_eq!(
        format,
        FileFormat::Xlsx { sheet: "People".into(), sheets: vec!["People".into(), "Überblick".into()] }
    );
    assert_eq!(
        cells(&rows),
        [
            vec!["Name", "Since", "Last call", "Revenue", "Employees", "Active"],
            vec!["Ångström, Anders", "2024-02-29", "2026-11-30T14:05:00", "1234.5", "42", "yes"],
            vec!["", "", "", "0.1"],
        ]
    );
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2, 4]);

    let chosen = FileFormat::Xlsx { sheet: "Überblick".into(), sheets: vec![] };
    assert_eq!(cells(&preview(&upload.0, &chosen, 20).unwrap()), [vec!["Only here"]]);
    let missing = FileFormat::Xlsx { sheet: "Nope".into(), sheets: vec![] };
    assert_eq!(preview(&upload.0, &missing, 20), Err(FileError::NoSuchSheet("Nope".into())));
}

#[test]
fn headers_are_compared_without_case_spaces_or_accents() {
    assert_eq!(normalise("  E-Mail Address "), "emailaddress");
    assert_eq!(normalise("Téléphone"), "telephone");
    assert_eq!(normalise("Straße"), "strasse");
}

#[test]
fn suggestions_follow_header_names_synonyms_and_extra_fields_each_target_once() {
    use crate::fields::{FieldDef, FieldKind};
    let plan = FieldDef {
        id: 1,
        key: "plan".into(),
        label: "Plan".into(),
        kind: FieldKind::Select,
        ..FieldDef::default()
    };
    let number =
        FieldDef { id: 2, key: "kundennummer".into(), label: "Kundennummer".into(), ..FieldDef::default() };
    let headers: Vec<String> = [
        "Surname",
        "Given name",
        "E-mail",
        "Organisation",
        "Phone number",
        "Mobile",
        "Plan",
        "kundennummer",
        "Tags",
        "Lead source",
        "Status",
        "Owner",
        "Services",
        "Straße",
        "PLZ",
        "Favourite colour",
        "",
    ]
    .map(String::from)
    .to_vec();
    let suggested = suggest_all(&headers, &[plan, number]);
    let field = |k: &str| ColumnTarget::Field(k.into());
    assert_eq!(
        suggested,
        [
            field("last_name"),
            field("first_name"),
            field("email"),
            field("company"),
            field("phone"),
            ColumnTarget::Ignore, // the phone is taken by the column before
            ColumnTarget::Extra("plan".into()),
            ColumnTarget::Extra("kundennummer".into()),
            ColumnTarget::Tags,
            ColumnTarget::TrafficSource,
            ColumnTarget::Status,
            ColumnTarget::Owner,
            ColumnTarget::Services,
            field("street"),
            field("postal_code"),
            ColumnTarget::Ignore,
            ColumnTarget::Ignore,
        ]
    );
}

#[test]
fn a_quote_that_never_closes_is_refused_with_its_line_and_a_quote_inside_text_is_not() {
    let text = "Name,Notes\nAda,fine\nBob,\"urgent, call back\nCyd,lost\nDee,lost too\n";
    let upload = Upload::new("unclosed.csv", text.as_bytes());
    assert_eq!(sniff(&upload.0), Err(FileError::UnclosedQuote { line: 3 }));
    assert!(FileError::UnclosedQuote { line: 3 }.to_string().contains("line 3"));

    let fine = "Name,Screen\nZoë,5\" wide\n\"Ng, \"\"Kim\"\"\",\"two\nlines\"\n";
    let upload = Upload::new("quotes.csv", fine.as_bytes());
    let (_, rows) = read_all(&upload);
    assert_eq!(cells(&rows)[1..], [vec!["Zoë", "5\" wide"], vec!["Ng, \"Kim\"", "two\nlines"]]);
}

#[test]
fn a_zip_that_is_no_workbook_is_no_table() {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("word/document.xml", stored).unwrap();
    zip.write_all(b"<w:document/>").unwrap();
    let upload = Upload::new("letter.docx", &zip.finish().unwrap().into_inner());
    assert_eq!(sniff(&upload.0), Err(FileError::NotTabular));
}

mod uploads {
    use super::super::upload::{save, UploadError};
    use futures::StreamExt;

    /// A directory of its own per test, so "nothing left behind" can be checked by listing it.
    fn empty_dir() -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("crm-uploads-{}-{}", std::process::id(), super::next_id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn left_in(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    fn chunks(parts: &[&[u8]]) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Unpin {
        futures::stream::iter(parts.iter().map(|p| Ok(p.to_vec())).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn an_upload_arrives_on_disk_chunk_by_chunk_with_its_digest_and_goes_when_dropped() {
        let dir = empty_dir();
        let saved = save(chunks(&[b"a", b"b", b"c"]), &dir, 1024).await.unwrap();
        assert_eq!((saved.size, std::fs::read(&saved.path).unwrap()), (3, b"abc".to_vec()));
        assert_eq!(saved.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        drop(saved);
        assert_eq!(left_in(&dir), 0, "an upload nobody kept is removed");

        let kept = save(chunks(&["Zoë,Ålund\n".as_bytes()]), &dir, 1024).await.unwrap().keep();
        assert_eq!(std::fs::read_to_string(&kept).unwrap(), "Zoë,Ålund\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The threat: a file far larger than the limit filling the server's disk or memory. It is
    /// refused as soon as it passes the limit, and what was written is removed.
    #[tokio::test]
    async fn an_upload_past_the_limit_is_refused_and_leaves_nothing() {
        let dir = empty_dir();
        let megabyte = vec![b'x'; 1 << 20];
        let endless =
            futures::stream::repeat_with(move || Ok::<_, std::io::Error>(megabyte.clone())).take(10_000);
        let err = save(Box::pin(endless), &dir, 3 << 20).await.unwrap_err();
        assert_eq!(err, UploadError::TooLarge { limit: 3 << 20 });
        assert_eq!(err.to_string(), "The file is larger than the limit of 3 MB.");
        assert_eq!(left_in(&dir), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_upload_cut_short_or_empty_is_refused_and_leaves_nothing() {
        let dir = empty_dir();
        let cut = futures::stream::iter(vec![
            Ok(b"first,rows\n".to_vec()),
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset")),
        ]);
        assert_eq!(save(cut, &dir, 1024).await.unwrap_err(), UploadError::Cut);
        assert_eq!(save(chunks(&[]), &dir, 1024).await.unwrap_err(), UploadError::Empty);
        assert_eq!(left_in(&dir), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The fuzz target's function over awkward files and deterministic mutations of them: a short
/// run the suite can afford (the long one is `cargo fuzz`, README "Tests").
mod fuzzing {
    use super::super::fuzz::parse_and_map;

    fn corpus() -> Vec<Vec<u8>> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write(0, 0, "E-Mail").unwrap();
        sheet.write(0, 1, "Betrag").unwrap();
        sheet.write(1, 0, "zoë@example.com").unwrap();
        sheet.write(1, 1, 1234.5).unwrap();
        let xlsx = workbook.save_to_buffer().unwrap();
        let mut truncated = xlsx.clone();
        truncated.truncate(xlsx.len() / 2);
        vec![
            Vec::new(),
            b"\xef\xbb\xbf".to_vec(),
            b"\xff\xfe\x41".to_vec(),
            b"first_name,email,tags\nZo\xc3\xab,zoe@example.com,\"a, b\"\n\"Multi\nline\",x@y.z,\n".to_vec(),
            b"a;b;c\n\"unclosed;1;2\n3;4;5\n".to_vec(),
            b"Name\tMail\n\0\0\0\t\x80\x81\n".to_vec(),
            "Vorname|Nachname|PLZ|Kunde seit|Betrag\n太郎|山田|10115|2024-02-30|1.234,5\n🎉|Ærø|x|13/13/2024|-0\n"
                .as_bytes()
                .to_vec(),
            b"\r\r\n\r\n,,,\n\"\"\"\",\"\"\n".to_vec(),
            format!("notes\n\"{}\"\n", "x".repeat(100_000)).into_bytes(),
            (0..300).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",").into_bytes(),
            xlsx,
            truncated,
            b"PK\x03\x04\x14\x00\x00\x00".to_vec(),
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec(),
        ]
    }

    /// A small xorshift: the same mutations on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
        const SPICE: &[&[u8]] =
            &[b",", b";", b"\t", b"|", b"\"", b"\n", b"\r\n", b"\0", b"\xc3", b"\xef\xbb\xbf", b"=", b"'"];
        let mut out = data.to_vec();
        for _ in 0..(1 + rng.next() % 8) {
            let at = if out.is_empty() { 0 } else { (rng.next() as usize) % (out.len() + 1) };
            match rng.next() % 4 {
                0 if !out.is_empty() && at < out.len() => out[at] = rng.next() as u8,
                1 => {
                    let spice = SPICE[(rng.next() as usize) % SPICE.len()];
                    out.splice(at..at, spice.iter().copied());
                }
                2 if at < out.len() => {
                    out.truncate(at);
                }
                _ => {
                    let len = (rng.next() % 16) as usize;
                    let start = at.saturating_sub(len);
                    let piece: Vec<u8> = out[start..at].to_vec();
                    out.splice(at..at, piece);
                }
            }
        }
        out
    }

    #[test]
    fn no_file_makes_reading_mapping_or_judging_panic() {
        let dir = std::env::temp_dir();
        let corpus = corpus();
        let mut read = 0;
        for data in &corpus {
            read += usize::from(parse_and_map(data, &dir).is_some());
        }
        assert!(read >= 5, "the readable files of the corpus are read: {read}");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..2_000 {
            let base = &corpus[i % corpus.len()];
            let _ = parse_and_map(&mutate(base, &mut rng), &dir);
        }
    }
}
