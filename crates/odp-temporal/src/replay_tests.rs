//! Workflow code must replay the histories older builds wrote: each file in `tests/histories/` is the history of
//! a run recorded with the workflow type it names (`pipeline-v1.json`: `odp.pipeline.v1`, `pipeline-v2.json`:
//! `odp.pipeline.v2`, each the run of `pipeline-v1.odp.yaml` on the built-in stubs). A change to the workflow that would make a running workflow take
//! another path on a new worker fails here: give it a new type name instead (README, "Versioning").

use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

use crate::workflow::{PipelineWorkflow, PipelineWorkflowV1};

fn replayer() -> WorkflowReplayer {
    WorkflowReplayer::new(
        WorkflowReplayerOptions::new()
            .register_workflow::<PipelineWorkflow>()
            .expect("the workflow registers")
            .register_workflow::<PipelineWorkflowV1>()
            .expect("the first version registers")
            .build(),
    )
    .expect("a replayer")
}

fn recorded() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/histories")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(&p).expect("a history"),
            )
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no recorded history in {}",
        dir.display()
    );
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_histories_replay_on_this_build() {
    let replayer = replayer();
    for (path, bytes) in recorded() {
        let history = WorkflowHistory::from_json(&bytes).expect("a history");
        if let Err(e) = replayer.replay_workflow(history).await {
            panic!("{path} does not replay on this build: {e}");
        }
    }
}

/// The check can fail: a history whose first step activity is of another type (what a reordered or renamed step
/// would write) does not replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_this_build_would_not_write_does_not_replay() {
    let (path, bytes) = recorded().remove(0);
    let mut history: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let scheduled = history["events"]
        .as_array_mut()
        .expect("events")
        .iter_mut()
        .find_map(|e| e["attributes"].get_mut("ActivityTaskScheduledEventAttributes"))
        .expect("a scheduled activity");
    scheduled["activity_type"]["name"] = "odp.other.v1".into();
    let changed = serde_json::to_vec(&history).expect("JSON");
    let result = replayer()
        .replay_workflow(WorkflowHistory::from_json(&changed).expect("a history"))
        .await;
    assert!(
        result.is_err(),
        "{path} with another activity type replayed"
    );
}
