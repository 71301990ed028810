//! `odp kernel install`: writes the kernelspec (`kernel.json`) where Jupyter looks for kernels.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The kernel's name: its directory under `kernels/`, and what `--kernel odp` selects.
pub const KERNEL_NAME: &str = "odp";
pub const DISPLAY_NAME: &str = "ODP pipelines";

/// Where a kernelspec goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The user's Jupyter data directory (`~/.local/share/jupyter` on Linux, `JUPYTER_DATA_DIR` when set).
    User,
    /// The active Python environment (`$VIRTUAL_ENV` or `$CONDA_PREFIX`).
    SysPrefix,
    /// `DIR/share/jupyter`.
    Prefix(PathBuf),
}

/// The `kernels/` directory of a location.
pub fn kernels_dir(location: &Location) -> Result<PathBuf, String> {
    let data = match location {
        Location::User => jupyter_zmq_client::user_data_dir()
            .map_err(|e| format!("cannot find the Jupyter data directory: {e}"))?,
        Location::SysPrefix => {
            let prefix = std::env::var_os("VIRTUAL_ENV")
                .or_else(|| std::env::var_os("CONDA_PREFIX"))
                .ok_or("--sys-prefix needs an active Python environment (VIRTUAL_ENV or CONDA_PREFIX); use --prefix DIR or --user")?;
            PathBuf::from(prefix).join("share").join("jupyter")
        }
        Location::Prefix(dir) => dir.join("share").join("jupyter"),
    };
    Ok(data.join("kernels"))
}

/// The kernelspec that starts `exe kernel --connection-file {connection_file}`.
pub fn kernelspec(exe: &Path, display_name: &str) -> Value {
    json!({
        "argv": [exe.to_string_lossy(), "kernel", "--connection-file", "{connection_file}"],
        "display_name": display_name,
        "language": "odp",
        "interrupt_mode": "message",
        "env": {},
        "metadata": {
            "debugger": false,
            "language_info": {
                "name": "odp",
                "codemirror_mode": "yaml",
                "mimetype": "text/x-yaml",
                "file_extension": ".yaml",
                "pygments_lexer": "yaml"
            }
        }
    })
}

/// Writes the kernelspec; returns its directory.
pub fn install(
    location: &Location,
    name: &str,
    display_name: &str,
    exe: &Path,
) -> Result<PathBuf, String> {
    let dir = kernels_dir(location)?.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let spec = kernelspec(exe, display_name);
    let mut text = serde_json::to_string_pretty(&spec).expect("a kernelspec serializes");
    text.push('\n');
    let file = dir.join("kernel.json");
    std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_kernelspec_under_the_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = install(
            &Location::Prefix(tmp.path().to_path_buf()),
            KERNEL_NAME,
            DISPLAY_NAME,
            Path::new("/opt/odp/bin/odp"),
        )
        .unwrap();
        assert_eq!(dir, tmp.path().join("share/jupyter/kernels/odp"));
        let spec: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("kernel.json")).unwrap())
                .unwrap();
        assert_eq!(
            spec["argv"],
            json!([
                "/opt/odp/bin/odp",
                "kernel",
                "--connection-file",
                "{connection_file}"
            ])
        );
        assert_eq!(spec["interrupt_mode"], "message");
        assert_eq!(spec["display_name"], "ODP pipelines");
        assert_eq!(spec["metadata"]["language_info"]["codemirror_mode"], "yaml");
    }
}
