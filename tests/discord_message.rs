//! The outgoing message model: its JSON shape, and `fit()` holding every Discord limit on
//! arbitrary Unicode (proptest).

use overlord::discord::message::{clip, limits};
use overlord::discord::{Button, ButtonStyle, Embed, EmbedField, EmbedFooter, Message};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn the_json_is_discords_and_mentions_are_always_off() {
    let at = time::macros::datetime!(2026-01-02 03:04:05 UTC);
    let m = Message::text("hi @everyone")
        .with_embed(
            Embed::new("QA failed")
                .description("2 tests")
                .color(0xFF_00_00)
                .timestamp(at)
                .field("gate", "unit", true)
                .footer("overlord"),
        )
        .with_row(vec![
            Button::new(ButtonStyle::Success, "Approve", "approve:P-1"),
            Button::new(ButtonStyle::Danger, "Reject", "reject:P-1").disabled(),
        ])
        .ephemeral();
    let v = serde_json::to_value(&m).expect("json");
    assert_eq!(
        v,
        json!({
            "content": "hi @everyone",
            "embeds": [{"title": "QA failed", "description": "2 tests", "color": 16711680,
                "timestamp": "2026-01-02T03:04:05Z",
                "fields": [{"name": "gate", "value": "unit", "inline": true}],
                "footer": {"text": "overlord"}}],
            "components": [{"type": 1, "components": [
                {"type": 2, "style": 3, "label": "Approve", "custom_id": "approve:P-1"},
                {"type": 2, "style": 4, "label": "Reject", "custom_id": "reject:P-1",
                    "disabled": true}]}],
            "flags": 64,
            "allowed_mentions": {"parse": []}
        })
    );
    let empty = serde_json::to_value(Message::default()).expect("json");
    assert_eq!(empty["allowed_mentions"], json!({"parse": []}));
}

#[test]
fn clip_cuts_on_characters_with_an_ellipsis_and_strips_controls() {
    assert_eq!(clip("héllo wörld", 5), "héll…");
    assert_eq!(clip("abc", 3), "abc");
    assert_eq!(clip("abcd", 0), "");
    assert_eq!(clip("a\u{0}b\u{7}c\r\n\td\u{9f}", 100), "abc\n\td");
    assert_eq!(clip("🦀🦀🦀", 2), "🦀…");
}

#[test]
fn the_shared_embed_budget_drops_what_no_longer_fits() {
    let big = "d".repeat(4096);
    let mut m = Message::default();
    for _ in 0..3 {
        m = m.with_embed(
            Embed::new("t")
                .description(big.clone())
                .field("n", "v", false),
        );
    }
    m.fit();
    let total: usize = m.embeds.iter().map(Embed::char_count).sum();
    assert!(total <= limits::EMBEDS_TOTAL, "{total}");
    assert_eq!(m.embeds.len(), 2, "the third embed had no budget left");
    assert_eq!(m.embeds[0].char_count(), 1 + 4096 + 2);
    assert!(m.embeds[1]
        .description
        .as_deref()
        .unwrap_or("")
        .ends_with('…'));
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        ".{0,40}",
        (any::<char>(), 0usize..6000).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn embed() -> impl Strategy<Value = Embed> {
    (
        opt_text(),
        opt_text(),
        proptest::collection::vec((text(), text(), any::<bool>()), 0..30),
        opt_text(),
    )
        .prop_map(|(title, description, fields, footer)| Embed {
            title,
            description,
            fields: fields
                .into_iter()
                .map(|(name, value, inline)| EmbedField {
                    name,
                    value,
                    inline,
                })
                .collect(),
            footer: footer.map(|text| EmbedFooter { text }),
            ..Embed::default()
        })
}

fn message() -> impl Strategy<Value = Message> {
    (
        opt_text(),
        opt_text(),
        proptest::collection::vec(embed(), 0..12),
        proptest::collection::vec(proptest::collection::vec((text(), text()), 0..7), 0..7),
    )
        .prop_map(|(content, username, embeds, rows)| {
            let mut m = Message::default();
            (m.content, m.username, m.embeds) = (content, username, embeds);
            for row in rows {
                let buttons = row
                    .into_iter()
                    .map(|(l, id)| Button::new(ButtonStyle::Secondary, l, id))
                    .collect();
                m = m.with_row(buttons);
            }
            m
        })
}

fn clean(s: &str) -> bool {
    s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
}

fn len(s: &str) -> usize {
    s.chars().count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn fit_always_respects_every_limit(m in message()) {
        let fitted = m.clone().fitted();
        if let Some(c) = &fitted.content {
            prop_assert!(len(c) <= limits::CONTENT && clean(c));
        }
        if let Some(u) = &fitted.username {
            prop_assert!(len(u) <= limits::USERNAME && clean(u));
        }
        prop_assert!(fitted.embeds.len() <= limits::EMBEDS);
        let mut total = 0;
        for e in &fitted.embeds {
            for t in [&e.title, &e.description].into_iter().flatten() {
                prop_assert!(clean(t) && !t.is_empty());
            }
            prop_assert!(e.title.as_deref().map_or(0, len) <= limits::TITLE);
            prop_assert!(e.description.as_deref().map_or(0, len) <= limits::DESCRIPTION);
            prop_assert!(e.fields.len() <= limits::FIELDS);
            for f in &e.fields {
                prop_assert!(len(&f.name) <= limits::FIELD_NAME && !f.name.is_empty());
                prop_assert!(len(&f.value) <= limits::FIELD_VALUE && !f.value.is_empty());
                prop_assert!(clean(&f.name) && clean(&f.value));
            }
            if let Some(f) = &e.footer {
                prop_assert!(len(&f.text) <= limits::FOOTER && clean(&f.text));
            }
            total += e.char_count();
        }
        prop_assert!(total <= limits::EMBEDS_TOTAL, "{}", total);
        prop_assert!(fitted.components.len() <= limits::ACTION_ROWS);
        for row in &fitted.components {
            prop_assert!(!row.components.is_empty());
            prop_assert!(row.components.len() <= limits::BUTTONS_PER_ROW);
            for b in &row.components {
                prop_assert!(len(&b.label) <= limits::BUTTON_LABEL && clean(&b.label));
                prop_assert!(len(&b.custom_id) <= limits::CUSTOM_ID && clean(&b.custom_id));
            }
        }
        // Fitting is idempotent, and what already fitted is left alone.
        prop_assert_eq!(fitted.clone().fitted(), fitted.clone());
        let json = serde_json::to_value(&fitted).expect("json");
        prop_assert_eq!(&json["allowed_mentions"], &json!({"parse": []}));
    }

    #[test]
    fn clip_is_a_prefix_and_keeps_short_clean_text(s in any::<String>(), n in 0usize..50) {
        let c = clip(&s, n);
        prop_assert!(len(&c) <= n);
        let cleaned: String = s.chars().filter(|ch| !ch.is_control() || *ch == '\n' || *ch == '\t').collect();
        if len(&cleaned) <= n {
            prop_assert_eq!(c, cleaned);
        } else {
            let kept: String = c.chars().take(len(&c).saturating_sub(1)).collect();
            prop_assert!(cleaned.starts_with(&kept));
            prop_assert!(n == 0 || c.ends_with('…'));
        }
    }
}
