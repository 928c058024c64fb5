//! Decoding, checking and re-encoding an uploaded image.
//!
//! Every upload is decoded and encoded again, so nothing of the file but its pixels is
//! kept: EXIF (camera, GPS position), XMP and comments are gone. The EXIF orientation is
//! applied to the pixels first. Accepted: JPEG, PNG, WebP and GIF (of an animated GIF only
//! the first frame is kept). The original is scaled down to at most [`MAX_ORIGINAL_PIXELS`]
//! and a preview of at most [`PREVIEW_SIDE`] pixels on its long side is made; both are
//! JPEG, or PNG when the picture has transparency or came as PNG or GIF.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// Images with more pixels than this are refused before their pixels are decoded
/// (7680×4320, Mastodon's `image_matrix_limit`): a small file can declare a huge picture.
pub const MAX_DECODED_PIXELS: u64 = 33_177_600;
/// The stored original has at most this many pixels (3840×2160, about 8 megapixels).
pub const MAX_ORIGINAL_PIXELS: u64 = 8_294_400;
/// The long side of a preview, at most.
pub const PREVIEW_SIDE: u32 = 640;
const JPEG_QUALITY: u8 = 85;

/// The content types uploads may declare (the ones we decode).
pub const SUPPORTED_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/gif"];

/// Why an upload was refused; the message is shown to the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the file is not a supported image (JPEG, PNG, WebP or GIF)")]
    NotAnImage,
    #[error("the file's content is {actual}, not the {declared} it was sent as")]
    Mismatch {
        declared: String,
        actual: &'static str,
    },
    #[error(
        "the image is {width}×{height} pixels; at most {} megapixels are accepted",
        MAX_DECODED_PIXELS / 1_000_000
    )]
    TooManyPixels { width: u32, height: u32 },
    #[error(
        "the image declares more pixels than can be decoded; at most {} megapixels are accepted",
        MAX_DECODED_PIXELS / 1_000_000
    )]
    TooLargeToDecode,
    #[error("the image cannot be read: {0}")]
    Corrupt(String),
    #[error("the file is larger than the limit of {0} MB")]
    TooLarge(u64),
}

/// One encoded picture.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub format: OutFormat,
    pub width: u32,
    pub height: u32,
}

/// The formats we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Jpeg,
    Png,
}

impl OutFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutFormat::Jpeg => "jpg",
            OutFormat::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            OutFormat::Jpeg => "image/jpeg",
            OutFormat::Png => "image/png",
        }
    }

    pub fn from_extension(ext: &str) -> Option<OutFormat> {
        match ext {
            "jpg" => Some(OutFormat::Jpeg),
            "png" => Some(OutFormat::Png),
            _ => None,
        }
    }
}

/// What an upload becomes.
#[derive(Debug, Clone)]
pub struct Processed {
    pub original: Encoded,
    pub preview: Encoded,
    pub blurhash: String,
}

fn type_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::WebP => "image/webp",
        ImageFormat::Gif => "image/gif",
        _ => "another format",
    }
}

/// The format of the file from its first bytes, checked against the type it was sent as
/// (`declared`, from the upload's `Content-Type`; `application/octet-stream` or none means
/// "unknown" and is not held against it).
pub fn sniff(head: &[u8], declared: Option<&str>) -> Result<ImageFormat, Rejected> {
    let format = image::guess_format(head).map_err(|_| Rejected::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
    ) {
        return Err(Rejected::NotAnImage);
    }
    let declared = declared
        .map(|d| {
            d.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|d| !d.is_empty() && d != "application/octet-stream");
    if let Some(declared) = declared {
        let same = declared == type_name(format)
            || (format == ImageFormat::Jpeg
                && (declared == "image/jpg" || declared == "image/pjpeg"));
        if !same {
            return Err(Rejected::Mismatch {
                declared,
                actual: type_name(format),
            });
        }
    }
    Ok(format)
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODED_PIXELS * 8 + 64 * 1024 * 1024);
    reader.limits(limits);
    reader
}

fn corrupt(e: image::ImageError) -> Rejected {
    match e {
        image::ImageError::Limits(_) => Rejected::TooLargeToDecode,
        other => Rejected::Corrupt(other.to_string()),
    }
}

/// The dimensions the file declares, refused when they exceed [`MAX_DECODED_PIXELS`].
/// Reads only the header.
pub fn check_dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), Rejected> {
    let decoder = reader(bytes, format).into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS {
        return Err(Rejected::TooManyPixels { width, height });
    }
    if width == 0 || height == 0 {
        return Err(Rejected::Corrupt("it has no pixels".into()));
    }
    Ok((width, height))
}

/// Decodes the image (orientation applied) after checking its declared size.
pub fn decode(bytes: &[u8], declared: Option<&str>) -> Result<DynamicImage, Rejected> {
    let format = sniff(bytes, declared)?;
    check_dimensions(bytes, format)?;
    let mut decoder = reader(bytes, format).into_decoder().map_err(corrupt)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// The whole processing of an upload: decode, scale, re-encode, preview and blurhash.
pub fn process(bytes: &[u8], declared: Option<&str>) -> Result<Processed, Rejected> {
    let format = sniff(bytes, declared)?;
    let img = decode(bytes, declared)?;
    let keep_png = img.color().has_alpha() || matches!(format, ImageFormat::Png | ImageFormat::Gif);
    let out = if keep_png {
        OutFormat::Png
    } else {
        OutFormat::Jpeg
    };
    let original = fit_pixels(img, MAX_ORIGINAL_PIXELS);
    let preview = if original.width().max(original.height()) > PREVIEW_SIDE {
        original.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE)
    } else {
        original.clone()
    };
    let preview_out = if preview.color().has_alpha() {
        OutFormat::Png
    } else {
        OutFormat::Jpeg
    };
    let blurhash = blurhash_of(&preview)?;
    Ok(Processed {
        original: encode(&original, out)?,
        preview: encode(&preview, preview_out)?,
        blurhash,
    })
}

/// Scales down to at most `max` pixels, keeping the aspect ratio.
fn fit_pixels(img: DynamicImage, max: u64) -> DynamicImage {
    let (w, h) = (u64::from(img.width()), u64::from(img.height()));
    if w * h <= max {
        return img;
    }
    let scale = (max as f64 / (w * h) as f64).sqrt();
    let nw = ((w as f64 * scale).floor() as u32).max(1);
    let nh = ((h as f64 * scale).floor() as u32).max(1);
    img.resize_exact(nw, nh, FilterType::Triangle)
}

fn blurhash_of(img: &DynamicImage) -> Result<String, Rejected> {
    let small = img.thumbnail(64, 64).to_rgba8();
    blurhash::encode(4, 3, small.width(), small.height(), small.as_raw())
        .map_err(|e| Rejected::Corrupt(format!("blurhash: {e}")))
}

/// Encodes `img` in `format` (no metadata is written).
pub fn encode(img: &DynamicImage, format: OutFormat) -> Result<Encoded, Rejected> {
    let mut bytes = Vec::new();
    let result = match format {
        OutFormat::Jpeg => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
                .encode_image(&rgb)
        }
        OutFormat::Png => {
            let encoder = image::codecs::png::PngEncoder::new(&mut bytes);
            match img {
                DynamicImage::ImageRgba8(_) | DynamicImage::ImageRgb8(_) => {
                    img.write_with_encoder(encoder)
                }
                _ if img.color().has_alpha() => {
                    DynamicImage::ImageRgba8(img.to_rgba8()).write_with_encoder(encoder)
                }
                _ => DynamicImage::ImageRgb8(img.to_rgb8()).write_with_encoder(encoder),
            }
        }
    };
    result.map_err(|e| Rejected::Corrupt(e.to_string()))?;
    Ok(Encoded {
        bytes,
        format,
        width: img.width(),
        height: img.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        encode(&DynamicImage::ImageRgb8(img), OutFormat::Jpeg)
            .unwrap()
            .bytes
    }

    #[test]
    fn a_large_jpeg_is_scaled_and_previewed() {
        let p = process(&jpeg(4000, 2500), Some("image/jpeg")).unwrap();
        let px = u64::from(p.original.width) * u64::from(p.original.height);
        assert!(px <= MAX_ORIGINAL_PIXELS, "{px}");
        assert!(p.original.width > p.original.height);
        assert_eq!(p.preview.width, PREVIEW_SIDE);
        assert_eq!(p.preview.format, OutFormat::Jpeg);
        assert!(!p.blurhash.is_empty());
    }

    #[test]
    fn transparency_keeps_png() {
        let img = RgbaImage::from_fn(30, 20, |x, _| Rgba([0, 0, 0, (x * 8) as u8]));
        let png = encode(&DynamicImage::ImageRgba8(img), OutFormat::Png).unwrap();
        let p = process(&png.bytes, None).unwrap();
        assert_eq!(p.original.format, OutFormat::Png);
        assert_eq!(p.preview.format, OutFormat::Png);
        assert_eq!((p.original.width, p.original.height), (30, 20));
    }

    #[test]
    fn content_must_match_the_declared_type() {
        let err = process(&jpeg(10, 10), Some("image/png")).unwrap_err();
        assert!(matches!(err, Rejected::Mismatch { .. }), "{err}");
        assert!(process(&jpeg(10, 10), Some("application/octet-stream")).is_ok());
        assert_eq!(
            process(b"hello, this is text", Some("image/jpeg")).unwrap_err(),
            Rejected::NotAnImage
        );
    }

    /// A PNG declaring 100000×100000 pixels, with a little (compressed) pixel data.
    fn png_bomb() -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        // zlib: a stored block of 4 zero bytes (a filter byte and the first pixel).
        chunk(
            &mut png,
            b"IDAT",
            &[0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0],
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }

    #[test]
    fn a_declared_huge_picture_is_refused_from_its_header() {
        let err = process(&png_bomb(), Some("image/png")).unwrap_err();
        assert!(
            matches!(
                err,
                Rejected::TooManyPixels { .. } | Rejected::TooLargeToDecode
            ),
            "{err}"
        );
        assert!(err.to_string().contains("megapixels"), "{err}");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
