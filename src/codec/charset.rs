//! The charset of a file, from its BOM or XML declaration: a UTF-8 file is
//! handed to the reader as it is (quick-xml checks its UTF-8 as it
//! tokenizes), a GBK or GB18030 one transcoded up front with `encoding_rs`,
//! refusing (never replacing) undecodable bytes.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, EncoderResult, Encoding, GB18030, GBK, UTF_8};

use super::CodecError;

/// The encodings the gateway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (with or without BOM).
    Utf8,
    /// GBK; also what `GB2312` declarations are read as (a superset).
    Gbk,
    /// GB18030.
    Gb18030,
}

impl Charset {
    /// The name written in XML declarations.
    pub fn label(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Gbk => "GBK",
            Charset::Gb18030 => "GB18030",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Utf8 => UTF_8,
            Charset::Gbk => GBK,
            Charset::Gb18030 => GB18030,
        }
    }

    /// Maps a declared label to a charset.
    pub fn from_label(label: &str) -> Option<Charset> {
        let l = label.trim().to_ascii_lowercase();
        match l.as_str() {
            "utf-8" | "utf8" | "us-ascii" | "ascii" => Some(Charset::Utf8),
            "gb18030" => Some(Charset::Gb18030),
            "gbk" | "gb2312" | "gb_2312" | "gb_2312-80" | "cp936" | "x-gbk" | "ms936"
            | "windows-936" | "csgb2312" | "euc-cn" => Some(Charset::Gbk),
            _ => None,
        }
    }
}

/// The bytes the reader tokenizes: a UTF-8 file as it is (its BOM
/// removed, its UTF-8 left to the tokenizer to check), a GBK or GB18030 file
/// transcoded to UTF-8.
#[derive(Debug)]
pub struct Source<'a> {
    /// UTF-8 bytes (checked as they are read when borrowed).
    pub bytes: Cow<'a, [u8]>,
    /// The charset of the input.
    pub charset: Charset,
}

/// Prepares `bytes` for the reader according to the BOM or XML declaration.
pub fn source(bytes: &[u8]) -> Result<Source<'_>, CodecError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(CodecError::EncodingUnsupported {
            label: "UTF-16".to_owned(),
        });
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok(Source {
            bytes: Cow::Borrowed(rest),
            charset: Charset::Utf8,
        });
    }
    let charset = match declared_encoding(bytes) {
        None => Charset::Utf8,
        Some(label) => {
            Charset::from_label(label).ok_or_else(|| CodecError::EncodingUnsupported {
                label: label.to_owned(),
            })?
        }
    };
    match charset {
        Charset::Utf8 => Ok(Source {
            bytes: Cow::Borrowed(bytes),
            charset,
        }),
        other => {
            let text =
                decode_strict(other.encoding(), bytes).map_err(|offset| CodecError::Encoding {
                    charset: other.label(),
                    offset,
                })?;
            Ok(Source {
                bytes: Cow::Owned(text.into_bytes()),
                charset: other,
            })
        }
    }
}

/// The encoding error of a file [`source`] passed to the tokenizer as
/// UTF-8, if it has one: the offset of its first byte that is not UTF-8.
pub fn utf8_error(bytes: &[u8]) -> Option<CodecError> {
    match source(bytes) {
        Ok(Source {
            bytes: Cow::Borrowed(text),
            ..
        }) => {
            let base = bytes.len().saturating_sub(text.len());
            std::str::from_utf8(text)
                .err()
                .map(|e| CodecError::Encoding {
                    charset: "UTF-8",
                    offset: base.saturating_add(e.valid_up_to()),
                })
        }
        _ => None,
    }
}

/// Decodes without replacement; on failure returns the offset of the bad byte.
fn decode_strict(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        DecoderResult::InputEmpty => Ok(out),
        DecoderResult::Malformed(bad, extra) => {
            Err(read.saturating_sub(usize::from(bad).saturating_add(usize::from(extra))))
        }
        // The buffer was sized for the worst case; treat anything else as the end.
        DecoderResult::OutputFull => Err(read),
    }
}

/// The `encoding="…"` value of the XML declaration, if any.
fn declared_encoding(bytes: &[u8]) -> Option<&str> {
    let head = bytes.get(..bytes.len().min(1024))?;
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = head.get(start..)?;
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(head.get(..end)?).ok()?;
    let (_, after) = decl.split_once("encoding")?;
    let rest = after.trim_start().strip_prefix('=')?.trim_start();
    let (quote, rest) = match rest.strip_prefix('"') {
        Some(r) => ('"', r),
        None => ('\'', rest.strip_prefix('\'')?),
    };
    let (label, _) = rest.split_once(quote)?;
    Some(label)
}

/// Encodes UTF-8 text in `charset`; fails if a character has no mapping.
pub fn encode_text(text: &str, charset: Charset) -> Result<Vec<u8>, char> {
    if charset == Charset::Utf8 {
        return Ok(text.as_bytes().to_vec());
    }
    let mut encoder = charset.encoding().new_encoder();
    let mut out = Vec::with_capacity(text.len().saturating_add(16));
    let mut rest = text;
    loop {
        out.reserve(
            encoder
                .max_buffer_length_from_utf8_without_replacement(rest.len())
                .unwrap_or(rest.len().saturating_mul(4)),
        );
        let (result, read) =
            encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut out, true);
        match result {
            EncoderResult::InputEmpty => return Ok(out),
            EncoderResult::Unmappable(c) => return Err(c),
            // `read` is where the encoder stopped: a char boundary of `rest`.
            EncoderResult::OutputFull => rest = rest.get(read..).unwrap_or_default(),
        }
    }
}
