//! The files the live monitor reads and writes besides the store: the
//! filter history, the saved filters of the `f` picker, and the log file
//! that takes log lines while the terminal shows the monitor.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fleetroll_core::query;

use super::super::app::history::History;
use super::super::app::picker::SavedFilter;

/// `<home>/filter_history`, as the MVP named it.
pub fn history_path(home: &Path) -> PathBuf {
    home.join("filter_history")
}

/// Where log lines go while the monitor runs: FLEETROLL_LOG_FILE, else
/// `<home>/monitor.log`.
pub fn log_path(home: &Path) -> PathBuf {
    std::env::var_os("FLEETROLL_LOG_FILE")
        .filter(|path| !path.is_empty())
        .map_or_else(|| home.join("monitor.log"), PathBuf::from)
}

/// Opens `path` for appending, creating it and its folder.
pub fn open_log(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))
}

/// The saved history; none when the file does not exist yet.
pub fn load_history(path: &Path) -> anyhow::Result<History> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(History::parse(&text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the history through a temporary file renamed over the old one, so
/// a crash, or a second monitor saving at the same moment, never leaves half
/// a file.
pub fn save_history(path: &Path, history: &History) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut temp, history.to_text().as_bytes())
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    temp.persist(path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct FilterFile {
    query: String,
    #[serde(default)]
    description: Option<String>,
}

/// The saved filters in `dir` (`*.yaml`, `*.yml`), by name, read afresh on
/// every `f` so a new file shows without a restart; and one problem per file
/// that could not be used (`name.yaml: why`). A missing folder is no
/// problem: nobody saved a filter yet.
pub fn saved_filters(dir: &Path) -> (Vec<SavedFilter>, Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(err) => return (Vec::new(), vec![format!("{}: {err}", dir.display())]),
    };
    let mut paths: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|p| is_yaml(p)).collect();
    paths.sort();
    let (mut saved, mut problems) = (Vec::new(), Vec::new());
    for path in paths {
        let file_name = path.file_name().map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        match saved_filter(&path) {
            Ok(filter) => saved.push(filter),
            Err(why) => problems.push(format!("{file_name}: {why}")),
        }
    }
    (saved, problems)
}

fn is_yaml(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml")
}

fn saved_filter(path: &Path) -> Result<SavedFilter, String> {
    let text = std::fs::read_to_string(path).map_err(|err| err.to_string())?;
    let file: FilterFile = yaml_serde::from_str(&text).map_err(|err| err.to_string())?;
    let query = file.query.trim();
    if query.is_empty() {
        return Err("query is empty".to_owned());
    }
    query::parse(query).map_err(|err| format!("invalid query: {err}"))?;
    let name = path.file_stem().map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
    Ok(SavedFilter { name, query: query.to_owned(), description: file.description })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_save_then_load() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = history_path(&dir.path().join("home"));
        assert_eq!(load_history(&path).expect("absent is empty"), History::default());
        let history = History::parse("a=1\nb=2\n");
        save_history(&path, &history).expect("saved");
        assert_eq!(load_history(&path).expect("loaded"), history);
        assert_eq!(std::fs::read_to_string(&path).expect("a text file"), "a=1\nb=2\n");
    }

    #[test]
    fn saved_filters_are_read_and_bad_files_named() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("written");
        write("linux.yaml", "query: os=L\ndescription: Linux hosts\n");
        write("quarantined.yml", "query: tc_quar=yes sort:tc_act:desc\n");
        write("broken.yaml", "query: [unclosed\n");
        write("empty.yaml", "query: '  '\n");
        write("typo.yaml", "query: bogus=1\n");
        write("notes.txt", "query: os=M\n");
        let (saved, problems) = saved_filters(dir.path());
        let names: Vec<&str> = saved.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["linux", "quarantined"]);
        assert_eq!(saved[0].description.as_deref(), Some("Linux hosts"));
        assert_eq!(saved[1].query, "tc_quar=yes sort:tc_act:desc");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("broken.yaml: "), "{problems:?}");
        assert!(problems[1].starts_with("empty.yaml: query is empty"), "{problems:?}");
        assert!(problems[2].starts_with("typo.yaml: invalid query: unknown column: bogus"), "{problems:?}");
    }

    #[test]
    fn a_missing_filters_folder_is_no_problem() {
        let dir = tempfile::tempdir().expect("a temp dir");
        assert_eq!(saved_filters(&dir.path().join("filters")), (Vec::new(), Vec::new()));
    }
}
