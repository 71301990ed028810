//! Dispatch: each shell request answered in order (`busy`, outputs, the reply, `idle`), executions queued behind a
//! failed one aborted, and the control channel's requests answered even while a cell runs.

use std::collections::HashMap;
use std::sync::Arc;

use jupyter_protocol::{
    CommClose, CommInfoReply, InterruptReply, IsCompleteReply, JupyterMessage,
    JupyterMessageContent, ReplyStatus, ShutdownReply, Status, UnknownMessage,
};
use jupyter_zmq_client::Connection;
use serde_json::{Map, json};
use zeromq::SocketSend;

use super::Kernel;
use super::replies::{generic_error_reply, isolate, kernel_info};
use super::wire::{Incoming, read};
use crate::session::Completeness;

impl Kernel {
    /// Handles one shell request: `busy`, outputs, the reply, `idle`. Returns whether an execution failed (queued
    /// executions are then aborted).
    pub(super) async fn shell_request<S: SocketSend>(
        &self,
        shell: &mut Connection<S>,
        incoming: Incoming,
    ) -> bool {
        let (msg, reply, failed) = self.answer(incoming).await;
        self.send_reply(shell, &msg, reply).await;
        failed
    }

    /// Works out a shell request's reply (`busy` and the outputs go out meanwhile); whether an execution failed.
    pub(super) async fn answer(
        &self,
        incoming: Incoming,
    ) -> (JupyterMessage, Option<JupyterMessage>, bool) {
        let msg = incoming.msg;
        self.iopub.send(Status::busy().as_child_of(&msg));
        let mut failed = false;
        let reply: Option<JupyterMessage> = if let Some(problem) = &incoming.problem {
            tracing::warn!(%problem, "cannot read a request");
            generic_error_reply(&msg, "BadRequest", problem)
        } else {
            match &msg.content {
                JupyterMessageContent::KernelInfoRequest(_) => {
                    Some(kernel_info(&self.banner).as_child_of(&msg))
                }
                JupyterMessageContent::ExecuteRequest(req) => {
                    let (reply, f) = self.execute(&msg, req).await;
                    failed = f && req.stop_on_error;
                    Some(reply)
                }
                JupyterMessageContent::CompleteRequest(req) => {
                    Some(self.complete(&msg, &req.code, req.cursor_pos))
                }
                JupyterMessageContent::InspectRequest(req) => {
                    Some(self.inspect(&msg, &req.code, req.cursor_pos))
                }
                JupyterMessageContent::IsCompleteRequest(req) => {
                    let reply = match isolate("is_complete_request", || {
                        self.session().is_complete(&req.code)
                    }) {
                        Ok((Completeness::Complete, _)) => IsCompleteReply::complete(),
                        Ok((Completeness::Incomplete, indent)) => {
                            IsCompleteReply::incomplete(indent)
                        }
                        Ok((Completeness::Invalid, _)) => IsCompleteReply::invalid(),
                        Err(_) => IsCompleteReply::unknown(),
                    };
                    Some(reply.as_child_of(&msg))
                }
                JupyterMessageContent::HistoryRequest(req) => Some(self.history(&msg, req)),
                JupyterMessageContent::CommInfoRequest(_) => Some(
                    CommInfoReply {
                        status: ReplyStatus::Ok,
                        comms: HashMap::new(),
                        error: None,
                    }
                    .as_child_of(&msg),
                ),
                JupyterMessageContent::ShutdownRequest(req) => {
                    self.interrupt();
                    self.shutdown.cancel();
                    Some(
                        ShutdownReply {
                            restart: req.restart,
                            status: ReplyStatus::Ok,
                            error: None,
                        }
                        .as_child_of(&msg),
                    )
                }
                JupyterMessageContent::InterruptRequest(_) => {
                    self.interrupt();
                    Some(InterruptReply::new().as_child_of(&msg))
                }
                JupyterMessageContent::CommOpen(open) => {
                    // No comm targets: close it right away, as the protocol asks.
                    self.iopub.send(
                        CommClose {
                            comm_id: open.comm_id.clone(),
                            data: Map::new(),
                        }
                        .as_child_of(&msg),
                    );
                    None
                }
                JupyterMessageContent::CommMsg(_) | JupyterMessageContent::CommClose(_) => None,
                _ => generic_error_reply(
                    &msg,
                    "UnknownRequest",
                    &format!("the odp kernel does not handle `{}`", msg.header.msg_type),
                ),
            }
        };
        (msg, reply, failed)
    }

    /// Sends a request's reply, after the outputs already queued on iopub, then `idle`.
    pub(super) async fn send_reply<S: SocketSend>(
        &self,
        shell: &mut Connection<S>,
        msg: &JupyterMessage,
        reply: Option<JupyterMessage>,
    ) {
        if let Some(mut reply) = reply {
            reply.header.username = "odp".into();
            self.iopub.flush().await;
            if let Err(e) = shell.send(reply).await {
                tracing::error!(error = %e, "cannot send a shell reply");
            }
        }
        self.iopub.send(Status::idle().as_child_of(msg));
    }

    /// Answers an execute request that was queued behind a failed one.
    pub(super) async fn abort<S: SocketSend>(
        &self,
        shell: &mut Connection<S>,
        msg: &JupyterMessage,
    ) {
        self.iopub.send(Status::busy().as_child_of(msg));
        // `{"status": "aborted"}` and nothing else, as ipykernel sends it: with an execution count, JupyterLab
        // would show the aborted cell as if it had run (`[7]:`) instead of `[ ]:`.
        let mut reply = JupyterMessage::new(
            JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: "execute_reply".into(),
                content: json!({"status": "aborted"}),
            }),
            Some(msg),
        );
        reply.header.username = "odp".into();
        self.iopub.flush().await;
        if let Err(e) = shell.send(reply).await {
            tracing::error!(error = %e, "cannot send a shell reply");
        }
        self.iopub.send(Status::idle().as_child_of(msg));
    }

    pub(super) async fn control_loop(
        self: Arc<Self>,
        mut control: jupyter_zmq_client::KernelControlConnection,
    ) {
        loop {
            let incoming = tokio::select! {
                r = read(&mut control, "control") => r,
                _ = self.shutdown.cancelled() => return,
            };
            let incoming = match incoming {
                Ok(Some(i)) => i,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "the control socket failed");
                    return;
                }
            };
            let msg = incoming.msg;
            self.iopub.send(Status::busy().as_child_of(&msg));
            let mut stop = false;
            let reply = if let Some(problem) = &incoming.problem {
                generic_error_reply(&msg, "BadRequest", problem)
            } else {
                match &msg.content {
                    JupyterMessageContent::KernelInfoRequest(_) => {
                        Some(kernel_info(&self.banner).as_child_of(&msg))
                    }
                    JupyterMessageContent::InterruptRequest(_) => {
                        self.interrupt();
                        Some(InterruptReply::new().as_child_of(&msg))
                    }
                    JupyterMessageContent::ShutdownRequest(req) => {
                        self.interrupt();
                        stop = true;
                        Some(
                            ShutdownReply {
                                restart: req.restart,
                                status: ReplyStatus::Ok,
                                error: None,
                            }
                            .as_child_of(&msg),
                        )
                    }
                    _ => generic_error_reply(
                        &msg,
                        "UnknownRequest",
                        &format!(
                            "the odp kernel does not handle `{}` on control",
                            msg.header.msg_type
                        ),
                    ),
                }
            };
            if let Some(mut reply) = reply {
                reply.header.username = "odp".into();
                self.iopub.flush().await;
                if let Err(e) = control.send(reply).await {
                    tracing::error!(error = %e, "cannot send a control reply");
                }
            }
            self.iopub.send(Status::idle().as_child_of(&msg));
            if stop {
                self.iopub.flush().await;
                self.shutdown.cancel();
                return;
            }
        }
    }
}
