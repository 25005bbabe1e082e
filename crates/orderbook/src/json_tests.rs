//! Tests of the strict JSON reader: integers, strings, skipping, and the decimal fast path.

use proptest::prelude::*;

use super::*;

fn decimal_of(text: &str) -> Result<Decimal, BookError> {
    let quoted = format!("\"{text}\"");
    let mut cursor = Cursor::new(quoted.as_bytes());
    cursor.decimal().map(|(decimal, raw)| {
        assert_eq!(raw, text.as_bytes());
        decimal
    })
}

#[test]
fn integers_are_strict() {
    for (text, expected) in [("0", 0), ("-7", -7), (" 1700000000123", 1700000000123)] {
        assert_eq!(Cursor::new(text.as_bytes()).integer(), Ok(expected));
    }
    assert_eq!(Cursor::new(b"-9223372036854775808").integer(), Ok(i64::MIN));
    for text in [
        "",
        "-",
        "01",
        "1.5",
        "1e3",
        "9223372036854775808",
        "\"5\"",
        "99999999999999999999",
    ] {
        assert!(Cursor::new(text.as_bytes()).integer().is_err(), "{text:?}");
    }
}

#[test]
fn strings_validate_escapes_and_utf8() {
    assert_eq!(
        Cursor::new(br#""a\"b\u00e9""#).string(),
        Ok(&br#"a\"b\u00e9"#[..])
    );
    assert_eq!(Cursor::new("\"é\"".as_bytes()).string(), Ok("é".as_bytes()));
    for bad in [
        &b"\"abc"[..],
        b"\"a\\x\"",
        b"\"\\u12\"",
        b"\"\x01\"",
        b"\"\xff\"",
        b"abc",
    ] {
        assert!(Cursor::new(bad).string().is_err(), "{bad:?}");
    }
}

#[test]
fn skipping_validates_and_bounds_nesting() {
    let mut cursor = Cursor::new(br#"{"a":[1,-2.5e+3,true,false,null,{"b":"c"}]}"#);
    assert_eq!(cursor.skip_value(), Ok(()));
    assert_eq!(cursor.finish(), Ok(()));
    for bad in [
        "[1,]",
        "{\"a\" 1}",
        "tru",
        "-",
        "1.",
        "01x",
        "{\"a\":1,}",
        "[1 2]",
    ] {
        let mut cursor = Cursor::new(bad.as_bytes());
        let result = cursor.skip_value().and_then(|()| cursor.finish());
        assert!(result.is_err(), "{bad:?}");
    }
    let deep = "[".repeat(10_000);
    assert!(Cursor::new(deep.as_bytes()).skip_value().is_err());
}

proptest! {
    /// The integer reader agrees with str::parse on any digits-like text.
    #[test]
    fn integers_match_str_parse(text in "-?[0-9]{0,22}|[0-9]{1,20}[.eE,}\\]]?") {
        let expected = text.parse::<i64>().ok().filter(|_| {
            let digits = text.trim_start_matches('-');
            !(digits.len() > 1 && digits.starts_with('0'))
        });
        let actual = Cursor::new(text.as_bytes()).integer();
        let clean = text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if clean {
            prop_assert_eq!(actual.ok(), expected);
        } else if let Ok(value) = actual {
            // A trailing ',', '}' or ']' ends the number; '.', 'e' and 'E' are refused.
            let terminated = text.ends_with([',', '}', ']']);
            prop_assert!(terminated, "accepted {:?}", text);
            prop_assert_eq!(Some(value), text[..text.len() - 1].parse::<i64>().ok());
        }
    }

    /// The one-pass decimal reader agrees with the reference parser on any short text.
    #[test]
    fn decimal_fast_path_matches_parse_decimal(
        text in "[0-9.\\-eE+a ]{0,24}|[0-9]{15,24}(\\.[0-9]{0,20})?"
    ) {
        let expected = parse_decimal(text.as_bytes());
        prop_assert_eq!(decimal_of(&text), expected);
    }
}
