//! A quicker parse of a stored event (`Event::from_json`): the body's `kind` is read tag
//! first. Serde's derived parse of the internally tagged `EventKind` (`#[serde(tag = "type")]`)
//! buffers each event's fields into a tree of its own before it knows the variant; the bodies
//! the store writes have `type` as the kind's first key, so here the tag is read first and
//! the fields go straight into the variant's own (derived) parse. Anything else — the tag not
//! first, a repeated tag, any error — is parsed again by the derived parse, so what comes out
//! (the event, or the error's text) is always what `serde_json::from_str::<Event>` gives.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, VariantAccess, Visitor,
};
use serde::Deserialize;

use super::event::{Event, EventKind};
use super::model::{
    AcceptanceCheck, Agent, AgentProcess, AgentState, AlertLevel, Approval, ApprovalId, Checkpoint,
    Clarification, ClarificationId, Concern, ConcernId, Decision, GateResult, GitSession, Handoff,
    JanitorRun, Operation, OperationKind, OperationOutcome, Plan, PublishPlan, QaRun, QaRunId,
    Review, Role, RunTelemetry, SessionStatus, Task, TaskStatus, Ticket, Timestamp, Variation,
};

impl Event {
    /// The event of a stored body: exactly what `serde_json::from_str::<Event>(text)` gives
    /// (the same event, or the same error), quicker when the kind's `type` comes first.
    pub fn from_json(text: &str) -> serde_json::Result<Event> {
        quick(text).or_else(|_| serde_json::from_str(text))
    }
}

/// The tag-first parse alone (an error where the kind's tag is not first).
fn quick(text: &str) -> serde_json::Result<Event> {
    let mut de = serde_json::Deserializer::from_str(text);
    let event = EventDef::deserialize(&mut de)?;
    de.end()?;
    Ok(event)
}

/// `Event` as derived, but for its kind.
#[derive(Deserialize)]
#[serde(remote = "Event")]
struct EventDef {
    seq: u64,
    at: Timestamp,
    command_seq: Option<u64>,
    actor: String,
    #[serde(deserialize_with = "kind_tag_first")]
    kind: EventKind,
}

/// `EventKind`'s variants as derived, externally tagged: the variant named by the tag read
/// first, its fields from the rest of the object. Kept the same as `EventKind` (a field
/// missing or of another type does not build; a variant missing here is parsed by the
/// derived parse, and `tests` below checks each variant comes through here).
#[derive(Deserialize)]
#[serde(remote = "EventKind", rename_all = "snake_case")]
enum KindDef {
    PlanImported {
        plan: Plan,
    },
    TaskStatusChanged {
        task: String,
        status: TaskStatus,
        note: Option<String>,
    },
    PhasePromoted {
        phase: String,
    },
    PlanRequested {
        goal: String,
    },
    TicketFiled {
        ticket: Ticket,
    },
    TicketsApproved {
        tickets: Vec<String>,
        tasks: Vec<Task>,
    },
    JanitorRan {
        run: JanitorRun,
        task: Option<Task>,
    },
    ApprovalRequested {
        approval: Approval,
    },
    ApprovalDecided {
        id: ApprovalId,
        decision: Decision,
        note: Option<String>,
        conditions: Option<String>,
    },
    ConcernRaised {
        concern: Concern,
    },
    ConcernAcknowledged {
        id: ConcernId,
    },
    ConcernAssigned {
        id: ConcernId,
        to: String,
        response: Option<String>,
    },
    ConcernEscalated {
        id: ConcernId,
        to: Role,
        reason: String,
    },
    ConcernResolved {
        id: ConcernId,
        note: Option<String>,
    },
    ConcernMessageLinked {
        id: ConcernId,
        message_id: String,
    },
    HandoffRecorded {
        handoff: Handoff,
    },
    VariationProposed {
        variation: Variation,
    },
    AgentRegistered {
        agent: Agent,
    },
    AgentPaused {
        agent: String,
    },
    AgentProcessStarted {
        agent: String,
        process: AgentProcess,
    },
    AgentProcessEnded {
        agent: String,
        pid: u32,
    },
    AgentStateChanged {
        agent: String,
        state: AgentState,
        task: Option<String>,
        detail: Option<String>,
        attempt: Option<u32>,
        session_id: Option<String>,
        until: Option<Timestamp>,
    },
    AgentActivity {
        agent: String,
        events: u64,
        tokens: u64,
        cost_micros: u64,
        last_output: Option<String>,
        files: Vec<String>,
        session_id: Option<String>,
    },
    AgentRunReported {
        agent: String,
        task: Option<String>,
        run: RunTelemetry,
    },
    TaskAdded {
        phase: String,
        task: Task,
    },
    TaskCriteriaAdded {
        task: String,
        criteria: Vec<String>,
        checks: Vec<AcceptanceCheck>,
        why: String,
    },
    ReviewRecorded {
        review: Review,
    },
    AgentResumed {
        agent: String,
    },
    DispatchHalted {
        reason: Option<String>,
    },
    DispatchResumed,
    WorkAssigned {
        agent: String,
        text: String,
    },
    ClarificationRequested {
        clarification: Clarification,
    },
    ClarificationAnswered {
        id: ClarificationId,
        answer: String,
    },
    SessionStatusChanged {
        status: SessionStatus,
    },
    CheckpointCreated {
        checkpoint: Checkpoint,
    },
    QaStarted {
        run: QaRunId,
        tree: String,
        gates: Vec<String>,
        promotion: bool,
    },
    QaGateStarted {
        run: QaRunId,
        gate: String,
        command: Option<String>,
        attempt: u32,
    },
    QaGateProgress {
        run: QaRunId,
        gate: String,
        done: u64,
        total: Option<u64>,
    },
    QaGateFinished {
        run: QaRunId,
        result: GateResult,
    },
    QaRunRecorded {
        run: QaRun,
    },
    GitAction {
        action: String,
        reference: String,
        old: Option<String>,
        new: Option<String>,
        source: Option<String>,
        trigger: String,
        detail: String,
    },
    GitSessionStarted {
        session: GitSession,
    },
    OperationStarted {
        operation: Operation,
    },
    OperationStep {
        id: u64,
        step: String,
        detail: String,
    },
    OperationPublishing {
        id: u64,
        plan: PublishPlan,
    },
    OperationFinished {
        id: u64,
        kind: OperationKind,
        outcome: OperationOutcome,
        message: String,
    },
    MetricAlert {
        level: AlertLevel,
        key: String,
        message: String,
        #[serde(default)]
        concern: Option<ConcernId>,
    },
    MetricAlertCleared {
        key: String,
    },
    DailyReportWritten {
        date: String,
        path: String,
        through_seq: u64,
        commit: Option<String>,
        summary: String,
    },
    AuditLossAccepted {
        from: u64,
        to: u64,
        ids_from: u64,
    },
    TaskBranchFlagged {
        task: String,
        branch: String,
        reason: String,
    },
}

/// Why the quick parse gives up (the derived parse then parses the body again).
const NOT_TAG_FIRST: &str = "the kind's `type` is not its first key";

fn kind_tag_first<'de, D: Deserializer<'de>>(d: D) -> Result<EventKind, D::Error> {
    d.deserialize_map(TagFirst)
}

/// The kind's object: its first key must be `type`.
struct TagFirst;

impl<'de> Visitor<'de> for TagFirst {
    type Value = EventKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event kind with its `type` first")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventKind, A::Error> {
        match map.next_key_seed(Text)? {
            Some(key) if key.as_str() == "type" => {}
            _ => return Err(de::Error::custom(NOT_TAG_FIRST)),
        }
        let tag = map.next_value_seed(Text)?;
        KindDef::deserialize(Variant { tag, rest: map })
    }
}

/// A string as read: borrowed from the body, or unescaped into a copy.
enum Str<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Str<'de> {
    fn as_str(&self) -> &str {
        match self {
            Str::Borrowed(s) => s,
            Str::Owned(s) => s,
        }
    }

    /// `seed` fed the string.
    fn into_de<T: DeserializeSeed<'de>, E: de::Error>(self, seed: T) -> Result<T::Value, E> {
        match self {
            Str::Borrowed(s) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s)),
            Str::Owned(s) => seed.deserialize(de::value::StringDeserializer::new(s)),
        }
    }
}

/// Reads a string (a key or the tag).
struct Text;

impl<'de> DeserializeSeed<'de> for Text {
    type Value = Str<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Str<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Text {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'de>, E> {
        Ok(Str::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'de>, E> {
        Ok(Str::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Str<'de>, E> {
        Ok(Str::Owned(s))
    }
}

/// The kind as an externally tagged enum: the tag names the variant, the rest of the object
/// holds its fields.
struct Variant<'de, A> {
    tag: Str<'de>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Variant<'de, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Variant<'de, A> {
    type Error = A::Error;
    type Variant = Rest<A>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Rest<A>), A::Error> {
        let value = self.tag.into_de(seed)?;
        Ok((value, Rest(self.rest)))
    }
}

/// The kind's object after its tag. A second `type` key is an error, as in the derived
/// parse ("duplicate field").
struct Rest<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Rest<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.0.next_key_seed(Text)? else {
            return Ok(None);
        };
        if key.as_str() == "type" {
            return Err(de::Error::duplicate_field("type"));
        }
        key.into_de(seed).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Rest<A> {
    type Error = A::Error;

    /// A variant without fields: what else the object holds is skipped (as the derived
    /// parse does).
    fn unit_variant(mut self) -> Result<(), A::Error> {
        while self.next_key::<IgnoredAny>()?.is_some() {
            self.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, A::Error> {
        Err(de::Error::custom("no newtype variants"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("no tuple variants"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    /// A stored event of each kind: the growth generator's (a plan cut to four tasks), and
    /// the kinds it does not make written after their types.
    const SAMPLES: &str = include_str!("../../tests/fixtures/events/every_kind.jsonl");

    fn derived(text: &str) -> Result<Event, String> {
        serde_json::from_str::<Event>(text).map_err(|e| e.to_string())
    }

    /// `Event::from_json` gives what the derived parse gives (the event or the error's text);
    /// the tag-first parse alone accepts nothing the derived parse rejects and, where both
    /// accept, gives the same event. Whether the tag-first parse accepted it.
    fn agrees(text: &str) -> bool {
        let want = derived(text);
        assert_eq!(
            Event::from_json(text).map_err(|e| e.to_string()),
            want,
            "{text}"
        );
        match quick(text) {
            Ok(event) => {
                assert_eq!(Ok(&event), want.as_ref(), "accepted tag first: {text}");
                true
            }
            Err(_) => false,
        }
    }

    /// An event with its kind's `type` written first (as the store writes it); the kind's
    /// other keys in any order.
    fn render(event: &Map<String, Value>) -> String {
        let mut out = String::from("{");
        for (key, value) in event {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(key).unwrap());
            out.push(':');
            match (key.as_str(), value) {
                ("kind", Value::Object(kind)) if kind.contains_key("type") => {
                    out.push_str(&format!("{{\"type\":{}", kind["type"]));
                    for (k, v) in kind.iter().filter(|(k, _)| *k != "type") {
                        out.push_str(&format!(",{}:{v}", serde_json::to_string(k).unwrap()));
                    }
                    out.push('}');
                }
                _ => out.push_str(&value.to_string()),
            }
        }
        out.push('}');
        out
    }

    fn samples() -> Vec<(String, Map<String, Value>)> {
        SAMPLES
            .lines()
            .map(|line| match serde_json::from_str(line) {
                Ok(Value::Object(event)) => (line.to_string(), event),
                _ => panic!("not an event object: {line}"),
            })
            .collect()
    }

    /// Every kind's name, as the derived parse lists them for an unknown one.
    fn kind_names() -> Vec<String> {
        let body =
            r#"{"seq":1,"at":"x","command_seq":null,"actor":"a","kind":{"type":"no_such_kind"}}"#;
        let err = derived(body).unwrap_err();
        let (_, list) = err.split_once("expected one of").expect(&err);
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    /// Each kind has a sample, which both parses read the same, the tag-first one without
    /// giving up; and the tag-first parse knows every kind the derived one does (none is
    /// left to the derived parse because `KindDef` lacks it).
    #[test]
    fn every_kind_is_read_tag_first_as_the_derived_parse_reads_it() {
        let names = kind_names();
        assert_eq!(names.len(), 51, "{names:?}");
        let samples = samples();
        for name in &names {
            assert!(
                samples
                    .iter()
                    .any(|(_, e)| e["kind"]["type"] == name.as_str()),
                "no sample of {name}"
            );
            let bare = format!(
                r#"{{"seq":1,"at":"x","command_seq":null,"actor":"a","kind":{{"type":"{name}"}}}}"#
            );
            agrees(&bare);
            if let Err(e) = quick(&bare) {
                let e = e.to_string();
                assert!(
                    !e.contains("unknown variant") && !e.contains(NOT_TAG_FIRST),
                    "{name}: {e}"
                );
            }
        }
        for (line, _) in &samples {
            assert!(derived(line).is_ok(), "{line}: {:?}", derived(line));
            assert!(agrees(line), "read tag first: {line}");
        }
    }

    /// Where a value of the kind is at `path` (keys and indexes).
    fn node<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(v, |v, step| match step {
            Value::String(k) => &mut v[k.as_str()],
            Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        })
    }

    /// The paths of every value under `v`.
    fn paths(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                let mut p = at.clone();
                p.push(json!(k));
                paths(v, p, out)
            }),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| {
                let mut p = at.clone();
                p.push(json!(i));
                paths(v, p, out)
            }),
            _ => {}
        }
    }

    /// The property: every value of every sample replaced by values of other types, every
    /// member removed, an unknown member added to every object — both parses give the same
    /// event or the same error, and the tag-first one accepts nothing the derived one
    /// rejects.
    #[test]
    fn the_tag_first_parse_agrees_with_the_derived_parse_on_altered_events() {
        let others = [
            json!(null),
            json!(true),
            json!(-1),
            json!(0),
            json!(1.5),
            json!(4294967296u64),
            json!(""),
            json!("x"),
            json!("C-12"),
            json!([]),
            json!(["x"]),
            json!({}),
            json!({"x": 1}),
        ];
        let (mut tried, mut quick_ok) = (0, 0);
        for (_, event) in samples() {
            let mut all = Vec::new();
            paths(&Value::Object(event.clone()), Vec::new(), &mut all);
            for path in all.iter().filter(|p| !p.is_empty()) {
                let mut cases = Vec::new();
                for other in &others {
                    let mut v = Value::Object(event.clone());
                    *node(&mut v, path) = other.clone();
                    cases.push(v);
                }
                let (last, parent) = path.split_last().unwrap();
                let mut v = Value::Object(event.clone());
                match (node(&mut v, parent), last) {
                    (Value::Object(m), Value::String(k)) => {
                        m.remove(k);
                    }
                    (Value::Array(a), Value::Number(i)) => {
                        a.remove(i.as_u64().unwrap() as usize);
                    }
                    _ => unreachable!(),
                }
                cases.push(v);
                let mut v = Value::Object(event.clone());
                if let Value::Object(m) = node(&mut v, path) {
                    m.insert("zz_unknown".into(), json!(1));
                    cases.push(v);
                }
                for case in cases {
                    let Value::Object(case) = case else {
                        unreachable!()
                    };
                    tried += 1;
                    quick_ok += agrees(&render(&case)) as usize;
                }
            }
        }
        // Both sides: many altered events still read (tag first), many rejected.
        assert!(
            tried > 5_000 && quick_ok > 500 && quick_ok < tried / 2,
            "{quick_ok} of {tried}"
        );
    }

    /// The tag elsewhere than first, twice, of another type or escaped; keys escaped; a kind
    /// that is not an object; text after the event; not JSON at all.
    #[test]
    fn tags_out_of_place_and_bad_text_read_as_the_derived_parse_reads_them() {
        let head =
            r#"{"seq":4,"at":"2026-12-07T10:00:00.000Z","command_seq":null,"actor":"a","kind":"#;
        let case = |kind: &str| format!("{head}{kind}}}");
        // Read tag first.
        for kind in [
            r#"{"type":"agent_paused","agent":"t-1"}"#,
            r#"{"type":"agent\u005fpaused","agent":"t-1"}"#,
            r#"{"type":"agent_paused","ag\u0065nt":"t-\n1"}"#,
            r#"{"type":"agent_paused","agent":"t-1","more":[1,{"type":"x"}]}"#,
            r#"{"type":"dispatch_resumed"}"#,
            r#"{"type":"dispatch_resumed","reason":"x","also":{"type":2}}"#,
        ] {
            assert!(agrees(&case(kind)), "{kind}");
        }
        // Left to the derived parse (which reads some, rejects others).
        for kind in [
            r#"{"agent":"t-1","type":"agent_paused"}"#,
            r#"{"type":"agent_paused","agent":"t-1","type":"agent_paused"}"#,
            r#"{"type":"agent_paused","type":"agent_resumed","agent":"t-1"}"#,
            r#"{"type":"dispatch_resumed","type":"dispatch_resumed"}"#,
            r#"{"type":19,"agent":"t-1"}"#,
            r#"{"type":null}"#,
            r#"{"type":"no_such_kind","agent":"t-1"}"#,
            r#"{"agent":"t-1"}"#,
            r#"{}"#,
            r#"["agent_paused","t-1"]"#,
            r#""dispatch_resumed""#,
            r#"null"#,
            r#"{"type":"agent_paused","agent":"t-1""#,
        ] {
            assert!(!agrees(&case(kind)), "{kind}");
        }
        for text in [
            format!(r#"{}  "#, case(r#"{"type":"dispatch_resumed"}"#)),
            format!(r#"{} x"#, case(r#"{"type":"dispatch_resumed"}"#)),
            format!(r#"{}{{}}"#, case(r#"{"type":"dispatch_resumed"}"#)),
            r#"{"seq":4,"kind":{"type":"dispatch_resumed"},"seq":5}"#.to_string(),
            String::new(),
            "not json".into(),
        ] {
            agrees(&text);
        }
    }
}
