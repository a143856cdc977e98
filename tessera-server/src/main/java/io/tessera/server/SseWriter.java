package io.tessera.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.tessera.engine.FinishReason;
import io.tessera.engine.RequestOutput;
import io.tessera.engine.RequestStream;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A streamed completion as OpenAI's Server-Sent Events: a chunk per output delta (tool calls read
 * out of the text as it streams), a comment line when output pauses (which also finds gone
 * clients), the usage chunk when asked for, and {@code data: [DONE]}.
 */
final class SseWriter {

    private final ServedModel model;
    private final ServerMetrics metrics;
    private final ObjectMapper json;
    private final ChoiceJson choiceJson;

    SseWriter(ServedModel model, ServerMetrics metrics, ObjectMapper json, ChoiceJson choiceJson) {
        this.model = model;
        this.metrics = metrics;
        this.json = json;
        this.choiceJson = choiceJson;
    }

    void write(GenerationJob job, String id, Context ctx, List<RequestStream> streams,
            LinkedBlockingQueue<StreamEvent> events, long keepAliveMs) throws IOException {
        HttpServletResponse res = ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream");
        res.setCharacterEncoding("utf-8");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("X-Accel-Buffering", "no");
        OutputStream out = res.getOutputStream();
        ChoiceCollector col = new ChoiceCollector(job, RequestRecord.of(ctx), metrics);
        long created = System.currentTimeMillis() / 1000;
        try {
            if (job.kind() == GenerationJob.Kind.CHAT) {
                for (int i = 0; i < col.choices.length; i++) {
                    ObjectNode chunk = chunk(job, id, created);
                    ObjectNode ch = chunk.putArray("choices").addObject();
                    ch.put("index", i);
                    ch.putObject("delta").put("role", "assistant").put("content", "");
                    ch.putNull("logprobs");
                    ch.putNull("finish_reason");
                    send(out, chunk);
                }
                out.flush();
            }
            while (!col.done()) {
                StreamEvent e = events.poll(keepAliveMs, TimeUnit.MILLISECONDS);
                if (e == null) {
                    out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    continue;
                }
                int ci = col.apply(e);
                if (ci < 0) {
                    continue;
                }
                RequestOutput o = e.out();
                ChoiceCollector.Choice c = col.choices[ci];
                boolean first = !c.started;
                c.started = true;
                String text = o.text();
                if (job.echo() && first) {
                    text = job.promptTexts().get(e.prompt()) + text;
                }
                if (text.isEmpty() && o.finishReason() == null && o.logprobs().isEmpty()) {
                    continue;
                }
                if (o.finishReason() == FinishReason.ERROR) {
                    ObjectNode err = json.createObjectNode();
                    ObjectNode eo = err.putObject("error");
                    eo.put("message", o.error() == null ? "generation failed" : o.error());
                    eo.put("type", "server_error");
                    eo.putNull("param");
                    eo.putNull("code");
                    send(out, err);
                }
                ObjectNode chunk = chunk(job, id, created);
                ObjectNode ch = chunk.putArray("choices").addObject();
                ch.put("index", ci);
                String finishName = o.finishReason() == null ? null : o.finishReason().openAiName();
                if (job.kind() == GenerationJob.Kind.CHAT) {
                    ObjectNode delta = ch.putObject("delta");
                    if (job.tools().parsesCalls()) {
                        if (c.toolCalls == null) {
                            c.toolCalls = new ToolCallParser(job.tools().syntax());
                        }
                        List<ToolCallParser.Piece> pieces = new ArrayList<>(c.toolCalls.feed(text));
                        if (o.finishReason() != null) {
                            pieces.addAll(c.toolCalls.finish());
                            if (o.finishReason().openAiName().equals("stop") && c.toolCalls.calls() > 0) {
                                finishName = "tool_calls";
                            }
                        }
                        ToolCallReply.putDelta(delta, pieces);
                        if (delta.isEmpty() && finishName == null && o.logprobs().isEmpty()) {
                            continue; // held back: it may be the start of a call
                        }
                    } else if (!text.isEmpty()) {
                        delta.put("content", text);
                    }
                    if (job.logprobs() && !o.logprobs().isEmpty()) {
                        choiceJson.chatLogprobs(ch.putObject("logprobs"), o.logprobs(), job.params().logprobs());
                    } else {
                        ch.putNull("logprobs");
                    }
                } else {
                    ch.put("text", text);
                    if (job.logprobs()) {
                        int[] promptIds = job.echo() && first ? job.prompts().get(e.prompt()) : new int[0];
                        choiceJson.completionLogprobs(ch.putObject("logprobs"), promptIds, o.logprobs(), c.textOffset);
                    } else {
                        ch.putNull("logprobs");
                    }
                }
                c.textOffset += text.length();
                if (finishName != null) {
                    ch.put("finish_reason", finishName);
                } else {
                    ch.putNull("finish_reason");
                }
                send(out, chunk);
                out.flush();
            }
            col.finish();
            if (job.includeUsage()) {
                ObjectNode chunk = chunk(job, id, created);
                chunk.putArray("choices");
                ChoiceJson.putUsage(chunk, col.usage());
                send(out, chunk);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException gone) {
            // the client disconnected: abort now so that its KV blocks are freed at the next step
            for (RequestStream s : streams) {
                s.cancel();
            }
            metrics.requestSuccess.labelValues("abort").inc();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private ObjectNode chunk(GenerationJob job, String id, long created) {
        ObjectNode root = json.createObjectNode();
        root.put("id", id);
        root.put("object", job.kind() == GenerationJob.Kind.CHAT ? "chat.completion.chunk" : "text_completion");
        root.put("created", created);
        root.put("model", model.name());
        if (job.includeUsage()) {
            root.putNull("usage"); // as OpenAI: null on every chunk but the last
        }
        return root;
    }

    private void send(OutputStream out, ObjectNode chunk) throws IOException {
        out.write("data: ".getBytes(StandardCharsets.UTF_8));
        out.write(json.writeValueAsBytes(chunk));
        out.write("\n\n".getBytes(StandardCharsets.UTF_8));
    }
}
