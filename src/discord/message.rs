//! The outgoing message: what the bridge posts to a channel, a webhook or an interaction
//! follow-up, serialized exactly as Discord's JSON expects.
//!
//! Two guarantees hold for every message that leaves through the REST client (`rest.rs`):
//! - `allowed_mentions` is always `{"parse": []}` (the field is private and always serialized),
//!   so text written by an agent can never ping `@everyone`, a role or a user;
//! - [`Message::fit`] has run: every Discord length limit holds (truncated with `…` on a
//!   character boundary) and control characters (NUL included) are gone.

use serde::Serialize;

/// Discord's limits, counted in characters (Unicode scalar values), as the API counts them.
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBEDS: usize = 10;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    /// Title, description, field names and values and footer of all embeds of one message.
    pub const EMBEDS_TOTAL: usize = 6000;
    pub const USERNAME: usize = 80;
    pub const ACTION_ROWS: usize = 5;
    pub const BUTTONS_PER_ROW: usize = 5;
    pub const BUTTON_LABEL: usize = 80;
    pub const CUSTOM_ID: usize = 100;
}

/// Message flag that makes an interaction reply visible to its invoker only.
pub const EPHEMERAL: u64 = 1 << 6;

/// One outgoing message. Build it, then send it; the transport fits it to Discord's limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Message {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Display name for a webhook post (ignored by Discord elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Always serialized, so an edit with no embeds removes the old ones.
    pub embeds: Vec<Embed>,
    /// Always serialized (except on webhook posts, see `rest`), so an edit can remove buttons.
    pub components: Vec<ActionRow>,
    /// `EPHEMERAL` for an interaction reply only its invoker sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u64>,
    allowed_mentions: AllowedMentions,
}

/// `{"parse": []}`: no mention in the text notifies anyone. Deliberately not configurable.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct AllowedMentions {
    parse: [&'static str; 0],
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Embed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 0xRRGGBB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    /// RFC 3339, as Discord wants it; see [`Embed::timestamp`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmbedFooter {
    pub text: String,
}

/// A row of up to five buttons (component type 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRow {
    #[serde(rename = "type")]
    kind: u8,
    pub components: Vec<Button>,
}

/// A button that sends an interaction with its `custom_id` when pressed (component type 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    #[serde(rename = "type")]
    kind: u8,
    pub style: ButtonStyle,
    pub label: String,
    pub custom_id: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

/// Discord's button styles that carry a `custom_id` (link buttons are not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    Primary,
    Secondary,
    Success,
    Danger,
}

impl Serialize for ButtonStyle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(match self {
            ButtonStyle::Primary => 1,
            ButtonStyle::Secondary => 2,
            ButtonStyle::Success => 3,
            ButtonStyle::Danger => 4,
        })
    }
}

impl Message {
    pub fn text(content: impl Into<String>) -> Message {
        Message {
            content: Some(content.into()),
            ..Message::default()
        }
    }

    pub fn embed(embed: Embed) -> Message {
        Message {
            embeds: vec![embed],
            ..Message::default()
        }
    }

    pub fn with_embed(mut self, embed: Embed) -> Message {
        self.embeds.push(embed);
        self
    }

    pub fn with_row(mut self, buttons: Vec<Button>) -> Message {
        self.components.push(ActionRow::new(buttons));
        self
    }

    pub fn with_username(mut self, username: impl Into<String>) -> Message {
        self.username = Some(username.into());
        self
    }

    pub fn ephemeral(mut self) -> Message {
        self.flags = Some(self.flags.unwrap_or(0) | EPHEMERAL);
        self
    }

    /// Consumes and returns the message fitted to Discord's limits (see [`Message::fit`]).
    pub fn fitted(mut self) -> Message {
        self.fit();
        self
    }

    /// Enforces every Discord limit in place: strips control characters (all but newline and
    /// tab) from every text, truncates each text to its limit with a trailing `…`, keeps the
    /// first 10 embeds, 25 fields per embed, 5 rows of 5 buttons, and shares the 6000-character
    /// budget of all embeds in order (title, description, fields, footer of the first embed,
    /// then the next); a field that no longer fits is dropped, as is an embed left empty.
    /// Empty field names or values (which Discord rejects) become a zero-width space.
    pub fn fit(&mut self) {
        if let Some(content) = &mut self.content {
            *content = clip(content, limits::CONTENT);
        }
        if let Some(name) = &mut self.username {
            *name = clip(name, limits::USERNAME);
        }
        self.embeds.truncate(limits::EMBEDS);
        let mut budget = limits::EMBEDS_TOTAL;
        for embed in &mut self.embeds {
            embed.fit(&mut budget);
        }
        self.embeds.retain(|e| !e.is_empty());
        self.components.truncate(limits::ACTION_ROWS);
        for row in &mut self.components {
            row.kind = 1;
            row.components.truncate(limits::BUTTONS_PER_ROW);
            for b in &mut row.components {
                b.kind = 2;
                b.label = clip(&b.label, limits::BUTTON_LABEL);
                b.custom_id = clip_plain(&b.custom_id, limits::CUSTOM_ID);
            }
        }
        self.components.retain(|r| !r.components.is_empty());
    }
}

impl Embed {
    pub fn new(title: impl Into<String>) -> Embed {
        Embed {
            title: Some(title.into()),
            ..Embed::default()
        }
    }

    pub fn description(mut self, text: impl Into<String>) -> Embed {
        self.description = Some(text.into());
        self
    }

    pub fn color(mut self, rgb: u32) -> Embed {
        self.color = Some(rgb & 0xFF_FF_FF);
        self
    }

    /// Sets the timestamp Discord shows under the embed (RFC 3339).
    pub fn timestamp(mut self, at: time::OffsetDateTime) -> Embed {
        self.timestamp = at
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        self
    }

    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Embed {
        self.fields.push(EmbedField {
            name: name.into(),
            value: value.into(),
            inline,
        });
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Embed {
        self.footer = Some(EmbedFooter { text: text.into() });
        self
    }

    /// The characters this embed counts against the 6000 shared by a message's embeds.
    pub fn char_count(&self) -> usize {
        let n = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
        n(&self.title)
            + n(&self.description)
            + self
                .fields
                .iter()
                .map(|f| f.name.chars().count() + f.value.chars().count())
                .sum::<usize>()
            + self.footer.as_ref().map_or(0, |f| f.text.chars().count())
    }

    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.fields.is_empty()
            && self.footer.is_none()
    }

    fn fit(&mut self, budget: &mut usize) {
        self.title = self
            .title
            .as_deref()
            .and_then(|t| take(t, limits::TITLE, budget));
        self.description = self
            .description
            .as_deref()
            .and_then(|d| take(d, limits::DESCRIPTION, budget));
        self.fields.truncate(limits::FIELDS);
        let mut kept = Vec::with_capacity(self.fields.len());
        for f in self.fields.drain(..) {
            let name = non_empty(clean(&f.name));
            let value = non_empty(clean(&f.value));
            // Discord needs at least one character on each side of a field.
            if *budget < 2 {
                break;
            }
            let name = clip(&name, limits::FIELD_NAME.min(*budget - 1));
            *budget -= name.chars().count();
            let value = clip(&value, limits::FIELD_VALUE.min(*budget));
            *budget -= value.chars().count();
            kept.push(EmbedField {
                name,
                value,
                inline: f.inline,
            });
        }
        self.fields = kept;
        self.footer = self
            .footer
            .take()
            .and_then(|f| take(&f.text, limits::FOOTER, budget).map(|text| EmbedFooter { text }));
    }
}

impl ActionRow {
    pub fn new(buttons: Vec<Button>) -> ActionRow {
        ActionRow {
            kind: 1,
            components: buttons,
        }
    }
}

impl Button {
    pub fn new(
        style: ButtonStyle,
        label: impl Into<String>,
        custom_id: impl Into<String>,
    ) -> Button {
        Button {
            kind: 2,
            style,
            label: label.into(),
            custom_id: custom_id.into(),
            disabled: false,
        }
    }

    pub fn disabled(mut self) -> Button {
        self.disabled = true;
        self
    }
}

/// Removes control characters except newline and tab.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| !c.is_control() || c == '\n' || c == '\t')
        .collect()
}

/// Cleans `text` and truncates it to at most `limit` characters, the last being `…` when
/// something was cut.
pub fn clip(text: &str, limit: usize) -> String {
    let text = clean(text);
    if text.chars().count() <= limit {
        return text;
    }
    if limit == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(limit - 1).collect();
    out.push('…');
    out
}

/// Like [`clip`] without the ellipsis: for machine-read ids, which must stay a prefix.
fn clip_plain(text: &str, limit: usize) -> String {
    clean(text).chars().take(limit).collect()
}

/// Clips `text` to `limit` and to what is left of the shared `budget`, which it spends; `None`
/// when nothing is left.
fn take(text: &str, limit: usize, budget: &mut usize) -> Option<String> {
    let t = clip(text, limit.min(*budget));
    *budget -= t.chars().count();
    (!t.is_empty()).then_some(t)
}

fn non_empty(text: String) -> String {
    if text.is_empty() {
        "\u{200b}".to_string()
    } else {
        text
    }
}
