//! The diff viewer: the view state of a diff (which file, where in it, unified or side by
//! side, which pane has focus), pure key methods that say whether anything changed, the
//! highlight requests for what is on screen, and a pure `render` of (view, highlights,
//! theme, area) into a buffer; the reviewer's findings under the lines they are about. Text shows plain at once and takes its syntax colours when
//! the highlighter's results arrive.

mod find;
mod line_text;
mod navigation;
mod panes;
mod render;
mod requests;
mod review;
mod rows;
mod search;
mod texts;
mod view;

pub use find::H_STEP;
pub use panes::{FILE_LIST_FROM, MIN_HEIGHT, MIN_WIDTH};
pub use render::render;
pub use requests::LOOK_AHEAD;
pub use review::ReviewNote;
pub use rows::Layout;
pub use search::{Match, Prompt, PromptKind};
pub use texts::FileTexts;
pub use view::{DiffView, Focus};
