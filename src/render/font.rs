//! WenQuanYi Micro Hei (assets/fonts/, Apache-2.0), compiled in so statements, reports and
//! charts print Chinese the same on every machine, and its advance widths for laying out text
//! (right-aligned numbers, centred titles, wrapping).

/// A TrueType collection; face 0 is WenQuanYi Micro Hei. A `static`, so the binary holds one copy.
pub static CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttc");

/// Advance widths of a font face.
pub struct Metrics<'a> {
    face: ttf_parser::Face<'a>,
    units_per_em: f32,
}

impl<'a> Metrics<'a> {
    pub fn parse(data: &'a [u8], index: u32) -> Result<Self, String> {
        let face = ttf_parser::Face::parse(data, index)
            .map_err(|e| format!("the font cannot be read: {e}"))?;
        let units_per_em = f32::from(face.units_per_em());
        Ok(Metrics { face, units_per_em })
    }

    /// The compiled-in CJK font.
    pub fn cjk() -> Result<Metrics<'static>, String> {
        Metrics::parse(CJK_FONT, 0)
    }

    /// Whether the font has a glyph for `c` (else it prints as an empty box).
    pub fn has(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }

    /// Advance of `c` in ems (1 em for a character the font lacks).
    pub fn advance(&self, c: char) -> f32 {
        self.face
            .glyph_index(c)
            .and_then(|g| self.face.glyph_hor_advance(g))
            .map_or(1.0, |a| f32::from(a) / self.units_per_em)
    }

    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// `text` cut to `max` points wide, ending in … when cut.
    pub fn fit(&self, text: &str, size: f32, max: f32) -> String {
        if self.width(text, size) <= max {
            return text.to_string();
        }
        let mut out = String::new();
        let mut width = self.width("…", size);
        for c in text.chars() {
            width += self.advance(c) * size;
            if width > max {
                break;
            }
            out.push(c);
        }
        out + "…"
    }

    /// `text` broken into lines at most `max` points wide, at its own line breaks and between
    /// any two characters except inside a run of Latin letters and digits (a number or a
    /// word stays whole unless it alone is wider than a line).
    pub fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut line = String::new();
            let mut width = 0.0;
            for word in words(paragraph) {
                let w = self.width(word, size);
                if width + w > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line).trim_end().to_string());
                    width = 0.0;
                }
                if w > max {
                    // Longer than a line on its own: break it by character.
                    for c in word.chars() {
                        let cw = self.advance(c) * size;
                        if width + cw > max && !line.is_empty() {
                            lines.push(std::mem::take(&mut line));
                            width = 0.0;
                        }
                        line.push(c);
                        width += cw;
                    }
                    continue;
                }
                line.push_str(word);
                width += w;
            }
            lines.push(line);
        }
        lines
    }
}

/// Pieces a line may break between: runs of Latin letters, digits and number punctuation
/// (with a trailing space), or single other characters.
fn words(text: &str) -> Vec<&str> {
    let latin = |c: char| c.is_ascii_alphanumeric() || ".,%/-+:()".contains(c);
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if latin(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if latin(d) || d == ' ' {
                    end = j + d.len_utf8();
                    chars.next();
                    if d == ' ' {
                        break;
                    }
                } else {
                    break;
                }
            }
            out.push(&text[i..end]);
        } else {
            out.push(&text[i..i + c.len_utf8()]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_has_chinese_and_digits_with_sensible_widths() {
        let m = Metrics::cjk().unwrap();
        for c in "水电费结算单合计壹贰叁元角分0123456789.,kWh m³".chars() {
            assert!(m.has(c), "no glyph for {c}");
        }
        let (han, digit) = (m.advance('电'), m.advance('8'));
        assert!((0.9..=1.05).contains(&han), "{han}");
        assert!((0.4..=0.7).contains(&digit), "{digit}");
        assert_eq!(m.width("88", 10.0), 2.0 * digit * 10.0);
        assert!(m.fit("一二三四五六七八九十", 10.0, 50.0).ends_with('…'));
        assert_eq!(m.wrap("一二三四五六", 10.0, 30.0), vec!["一二三", "四五六"]);
        // A number is not split across lines.
        let lines = m.wrap("人均 6.18 kgce/人", 10.0, 40.0);
        assert!(lines.iter().any(|l| l.contains("6.18")), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), "人均6.18kgce/人");
    }
}
