package io.tessera.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.tessera.engine.Engine;
import io.tessera.engine.RequestStream;
import io.tessera.engine.connector.KvTransfer;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A non-streamed completion: collects the job's events until every stream ends, probing on a
 * clock whether the client is still there (aborting the job when it is not), then writes one
 * {@code text_completion} or {@code chat.completion} object.
 */
final class JsonResponseWriter {

    private final Engine engine;
    private final ServedModel model;
    private final ServerMetrics metrics;
    private final ObjectMapper json;
    private final ChoiceJson choiceJson;

    JsonResponseWriter(Engine engine, ServedModel model, ServerMetrics metrics, ObjectMapper json,
            ChoiceJson choiceJson) {
        this.engine = engine;
        this.model = model;
        this.metrics = metrics;
        this.json = json;
        this.choiceJson = choiceJson;
    }

    void write(GenerationJob job, String id, Context ctx, List<RequestStream> streams,
            LinkedBlockingQueue<StreamEvent> events, long keepAliveMs) throws IOException {
        ChoiceCollector col = new ChoiceCollector(job, RequestRecord.of(ctx), metrics);
        ClientProbe client = ClientProbe.of(ctx.req());
        long nextProbe = System.nanoTime() + keepAliveMs * 1_000_000;
        try {
            while (!col.done()) {
                StreamEvent e = events.poll(keepAliveMs, TimeUnit.MILLISECONDS);
                if (e != null) {
                    col.apply(e);
                }
                // probed on a clock, not when output pauses: a busy request streams deltas all the time
                if (System.nanoTime() - nextProbe < 0) {
                    continue;
                }
                nextProbe = System.nanoTime() + keepAliveMs * 1_000_000;
                if (client.gone()) {
                    // nobody will read the answer: abort now so that the sequences stop taking engine time
                    for (RequestStream s : streams) {
                        s.cancel();
                    }
                    metrics.requestSuccess.labelValues("abort").inc();
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("interrupted");
        }
        if (client.mustClose()) {
            ctx.header("Connection", "close");
        }
        col.finish();
        if (col.error != null) {
            // failed because the executor degraded meanwhile: a 503 like the requests refused above
            throw engine.executorHealth() != null ? ApiException.modelUnavailable() : ApiException.internal(col.error);
        }
        ObjectNode root = header(job, id);
        ArrayNode choices = root.putArray("choices");
        for (int i = 0; i < col.choices.length; i++) {
            ChoiceCollector.Choice c = col.choices[i];
            ObjectNode ch = choices.addObject();
            ch.put("index", i);
            String prefix = job.echo() ? job.promptTexts().get(i / col.n) : "";
            if (job.kind() == GenerationJob.Kind.CHAT) {
                ObjectNode msg = ch.putObject("message");
                msg.put("role", "assistant");
                ToolCallReply reply = job.tools().parsesCalls() ? ToolCallReply.read(job.tools(), c.text.toString())
                        : ToolCallReply.text(c.text.toString());
                if (reply.calls().isEmpty()) {
                    msg.put("content", reply.content());
                } else {
                    msg.put("content", reply.content().isBlank() ? null : reply.content());
                    reply.putCalls(msg.putArray("tool_calls"));
                    if (c.finish != null && c.finish.openAiName().equals("stop")) {
                        ch.put("finish_reason", "tool_calls");
                    }
                }
                msg.putNull("refusal");
                if (job.logprobs()) {
                    choiceJson.chatLogprobs(ch.putObject("logprobs"), c.logprobs, job.params().logprobs());
                } else {
                    ch.putNull("logprobs");
                }
            } else {
                ch.put("text", prefix + c.text);
                if (job.logprobs()) {
                    int[] promptIds = job.echo() ? job.prompts().get(i / col.n) : new int[0];
                    choiceJson.completionLogprobs(ch.putObject("logprobs"), promptIds, c.logprobs, 0);
                } else {
                    ch.putNull("logprobs");
                }
            }
            if (!ch.has("finish_reason")) {
                ch.put("finish_reason", c.finish == null ? "abort" : c.finish.openAiName());
            }
        }
        ChoiceJson.putUsage(root, col.usage());
        if (job.kvTransfer() != null && job.kvTransfer().role() == KvTransfer.Role.PRODUCE) {
            // where the decode instance pulls this prompt's KV from
            root.set("kv_transfer_params", json.valueToTree(engine.kvConnector().producerParams(
                    job.kvTransfer().transferId())));
        }
        ctx.status(200).contentType("application/json").result(json.writeValueAsBytes(root));
    }

    private ObjectNode header(GenerationJob job, String id) {
        ObjectNode root = json.createObjectNode();
        root.put("id", id);
        root.put("object", job.kind() == GenerationJob.Kind.CHAT
                ? (job.stream() ? "chat.completion.chunk" : "chat.completion")
                : "text_completion");
        root.put("created", System.currentTimeMillis() / 1000);
        root.put("model", model.name());
        return root;
    }
}
