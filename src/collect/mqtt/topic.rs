//! Topic templates: `tele/{meter}/SENSOR` subscribes to `tele/+/SENSOR` and captures the
//! second level as `meter`. Pure.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture(String),
    Plus,
    Hash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    pub text: String,
    segments: Vec<Segment>,
}

pub type Captures = BTreeMap<String, String>;

impl TopicTemplate {
    pub fn parse(text: &str) -> Result<TopicTemplate, String> {
        if text.is_empty() {
            return Err("empty topic".into());
        }
        if text.starts_with("$share/") {
            return Err(format!(
                "`{text}`: write the group as `share_group`, and the topic without `$share/...`"
            ));
        }
        let parts: Vec<&str> = text.split('/').collect();
        let mut segments = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let seg = match *p {
                "+" => Segment::Plus,
                "#" if i == parts.len() - 1 => Segment::Hash,
                "#" => return Err(format!("`{text}`: `#` may only be the last level")),
                s if s.starts_with('{') && s.ends_with('}') && s.len() > 2 => {
                    let name = &s[1..s.len() - 1];
                    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        return Err(format!(
                            "`{text}`: placeholder `{s}` must be a plain name like {{meter}}"
                        ));
                    }
                    Segment::Capture(name.to_string())
                }
                s if s.contains(['+', '#', '{', '}']) => {
                    return Err(format!(
                        "`{text}`: `{s}`: wildcards and placeholders must fill a whole level"
                    ));
                }
                s => Segment::Literal(s.to_string()),
            };
            segments.push(seg);
        }
        Ok(TopicTemplate {
            text: text.to_string(),
            segments,
        })
    }

    /// The MQTT subscription filter.
    pub fn filter(&self) -> String {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.as_str(),
                Segment::Capture(_) | Segment::Plus => "+",
                Segment::Hash => "#",
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    pub fn captures_name(&self, name: &str) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Capture(n) if n == name))
    }

    /// The captured levels if `topic` matches.
    pub fn matches(&self, topic: &str) -> Option<Captures> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut captures = Captures::new();
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Hash => return Some(captures),
                _ if i >= levels.len() => return None,
                Segment::Literal(l) if l != levels[i] => return None,
                Segment::Literal(_) | Segment::Plus => {}
                Segment::Capture(name) => {
                    captures.insert(name.clone(), levels[i].to_string());
                }
            }
        }
        (levels.len() == self.segments.len()).then_some(captures)
    }
}

/// Fills `{name}` placeholders of a meter-id template from the captures.
pub fn fill(template: &str, captures: &Captures) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?
            + start;
        let name = &rest[start + 1..end];
        out.push_str(
            captures
                .get(name)
                .ok_or_else(|| format!("the topic has no {{{name}}}"))?,
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_filters_and_capture_levels() {
        let t = TopicTemplate::parse("campus/{building}/{meter}/state").unwrap();
        assert_eq!(t.filter(), "campus/+/+/state");
        let c = t.matches("campus/library/lib-1/state").unwrap();
        assert_eq!(c["building"], "library");
        assert_eq!(c["meter"], "lib-1");
        assert_eq!(t.matches("campus/library/lib-1/other"), None);
        assert_eq!(t.matches("campus/library/lib-1"), None);
        assert_eq!(fill("{building}-{meter}", &c).unwrap(), "library-lib-1");
        let h = TopicTemplate::parse("gw/{meter}/#").unwrap();
        assert_eq!(h.filter(), "gw/+/#");
        assert_eq!(h.matches("gw/a/b/c").unwrap()["meter"], "a");
    }

    #[test]
    fn rejects_bad_templates() {
        assert!(
            TopicTemplate::parse("a/#/b")
                .unwrap_err()
                .contains("last level")
        );
        assert!(
            TopicTemplate::parse("a/x{meter}")
                .unwrap_err()
                .contains("whole level")
        );
        assert!(
            TopicTemplate::parse("$share/g/a/+")
                .unwrap_err()
                .contains("share_group")
        );
        assert_eq!(
            fill("{room}", &Captures::new()).unwrap_err(),
            "the topic has no {room}"
        );
    }
}
