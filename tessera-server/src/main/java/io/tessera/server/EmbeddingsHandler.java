package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.tessera.engine.ContextLengthExceededException;
import io.tessera.engine.Embedding;
import io.tessera.engine.EmbeddingRequest;
import io.tessera.engine.Engine;
import io.tessera.engine.GenerationLimits;
import io.tessera.engine.RequestRejectedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code /v1/embeddings} after OpenAI's API reference: each input (a string, or token ids) is one
 * engine request that runs through the model with the other requests' prompts, under the same
 * admission limit; its final hidden states are pooled as the served model says ({@link
 * ServedModel#pooling()}) and scaled to unit length, as OpenAI's embeddings are.
 */
final class EmbeddingsHandler {

    /** Milliseconds between checks that the client of a waiting request is still connected. */
    volatile long keepAliveMs = 1000;


    private final Engine engine;
    private final ServedModel model;
    private final GenerationLimits limits;
    private final ServerMetrics metrics;
    private final Admission admission;
    private final ObjectMapper json;
    private final PromptEncoder encoder;
    private final int maxInputs;
    private final Set<String> active = ConcurrentHashMap.newKeySet();

    EmbeddingsHandler(Engine engine, ServedModel model, GenerationLimits limits, ServerMetrics metrics,
            Admission admission, ObjectMapper json, PromptEncoder encoder, int maxInputs) {
        this.engine = engine;
        this.model = model;
        this.limits = limits;
        this.metrics = metrics;
        this.admission = admission;
        this.json = json;
        this.encoder = encoder;
        this.maxInputs = maxInputs;
    }

    /** One parsed request: the inputs as token ids, and how to write the vectors. */
    record Job(List<int[]> inputs, boolean base64, long arrivalNanos) {
    }

    void handle(Context ctx, JsonNode body, long arrival) throws IOException {
        run(parse(body, arrival), ctx);
    }

    private Job parse(JsonNode body, long arrival) {
        RequestFields.checkEmbeddings(body);
        RequestFields.checkModel(body, model);
        String format = Fields.string(body, "encoding_format", "float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw ApiException.badParam("encoding_format", "'encoding_format' must be 'float' or 'base64', got '"
                    + format + "'");
        }
        Integer dimensions = Fields.integer(body, "dimensions", null);
        int size = engine.hiddenSize();
        if (dimensions != null && dimensions != size) {
            throw ApiException.badParam("dimensions", "'dimensions' must be this model's embedding size, " + size
                    + " (shortened embeddings are not supported), got " + dimensions);
        }
        List<int[]> inputs = inputs(body.get("input"));
        for (int i = 0; i < inputs.size(); i++) {
            checkFits(inputs.get(i).length, "input[" + i + "]");
        }
        return new Job(inputs, format.equals("base64"), arrival);
    }

    /** A string, an array of strings, an array of token ids or an array of arrays of token ids. */
    private List<int[]> inputs(JsonNode input) {
        if (input == null || input.isNull()) {
            throw ApiException.badParam("input", "'input' is required");
        }
        List<int[]> out = new ArrayList<>();
        if (input.isTextual()) {
            out.add(encode(input.asText(), "input"));
            return out;
        }
        if (!input.isArray()) {
            throw inputType();
        }
        if (input.isEmpty()) {
            throw ApiException.badParam("input", "'input' must not be an empty array");
        }
        JsonNode first = input.get(0);
        if (first.isIntegralNumber()) {
            out.add(tokenIds(input, "input"));
            return out;
        }
        if (input.size() > maxInputs) {
            throw ApiException.badParam("input", "'input' may hold at most " + maxInputs + " inputs per request, got "
                    + input.size());
        }
        for (int i = 0; i < input.size(); i++) {
            JsonNode e = input.get(i);
            String where = "input[" + i + "]";
            if (first.isTextual() && e.isTextual()) {
                out.add(encode(e.asText(), where));
            } else if (first.isArray() && e.isArray()) {
                if (e.isEmpty()) {
                    throw ApiException.badParam("input", "'" + where + "' must not be an empty array");
                }
                out.add(tokenIds(e, where));
            } else {
                throw inputType();
            }
        }
        return out;
    }

    private int[] encode(String text, String where) {
        if (text.isEmpty()) {
            throw ApiException.badParam("input", "'" + where + "' must not be an empty string");
        }
        return encoder.encode(text, "input", true);
    }

    private int[] tokenIds(JsonNode arr, String where) {
        // checked before reading the ids, so that a huge array is not copied first
        checkFits(arr.size(), "'" + where + "'");
        int vocab = model.tokenizer().vocabSize();
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw inputType();
            }
            ids[i] = e.asInt();
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw ApiException.badParam("input", "token id " + ids[i] + " in '" + where + "' is out of range for a"
                        + " vocabulary of " + vocab);
            }
        }
        return ids;
    }

    /** The engine's context check on one input, named as {@code what} in the message. */
    private void checkFits(int tokens, String what) {
        try {
            limits.checkInput(tokens);
        } catch (ContextLengthExceededException e) {
            throw ApiException.badParam("input", "This model's maximum context length is " + e.contextLength()
                    + " tokens, and " + what + " has " + tokens + " tokens. Please reduce its length.");
        }
    }

    private static ApiException inputType() {
        return ApiException.badParam("input", "'input' must be a string, an array of strings, an array of token ids"
                + " or an array of arrays of token ids");
    }

    /** Runs the job's inputs through the engine and writes the embeddings. */
    private void run(Job job, Context ctx) throws IOException {
        if (!engine.supportsEmbeddings()) {
            throw ApiException.notImplemented("Embeddings need the model's final hidden states, which this server's"
                    + " executor does not return (a model split over workers with --tp/--pp returns logits only);"
                    + " serve the model in one process for /v1/embeddings.");
        }
        if (engine.executorHealth() != null) {
            throw ApiException.modelUnavailable();
        }
        int k = job.inputs().size();
        if (k > admission.limit()) {
            throw ApiException.badParam("input", "This request has " + k + " inputs; this server admits at most "
                    + admission.limit() + " sequences at once.");
        }
        if (!admission.tryAcquire(k)) {
            throw ApiException.tooManyRequests("The server is at its limit of " + admission.limit()
                    + " pending sequences; retry later.");
        }
        String id = "embd-" + UUID.randomUUID().toString().replace("-", "");
        RequestRecord.of(ctx).id = id;
        List<String> ids = new ArrayList<>();
        List<CompletableFuture<Embedding>> futures = new ArrayList<>();
        try {
            for (int i = 0; i < k; i++) {
                String rid = id + "-" + i;
                try {
                    futures.add(engine.embed(new EmbeddingRequest(rid, job.inputs().get(i), model.pooling())));
                } catch (RequestRejectedException e) {
                    throw ApiException.badParam("input", e.getMessage());
                } catch (IllegalStateException e) {
                    throw ApiException.unavailable("the engine is not running: " + e.getMessage());
                }
                ids.add(rid);
                active.add(rid);
            }
            List<Embedding> done = await(futures, ctx);
            if (done == null) {
                return; // the client left; the engine requests were aborted
            }
            respond(job, ctx, done);
        } finally {
            for (int i = 0; i < ids.size(); i++) {
                if (!futures.get(i).isDone()) {
                    engine.abort(ids.get(i)); // the client left, or another input failed
                }
                active.remove(ids.get(i));
            }
            admission.release(k);
        }
    }

    /** Waits for every input's vector; null when the client left meanwhile. */
    private List<Embedding> await(List<CompletableFuture<Embedding>> futures, Context ctx) {
        ClientProbe client = ClientProbe.of(ctx.req());
        List<Embedding> done = new ArrayList<>();
        for (CompletableFuture<Embedding> f : futures) {
            while (true) {
                try {
                    done.add(f.get(keepAliveMs, TimeUnit.MILLISECONDS));
                    break;
                } catch (TimeoutException e) {
                    if (client.gone()) {
                        metrics.requestSuccess.labelValues("abort").inc();
                        return null;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw ApiException.unavailable("interrupted");
                } catch (ExecutionException e) {
                    if (engine.executorHealth() != null) {
                        throw ApiException.modelUnavailable();
                    }
                    throw ApiException.internal("embedding failed: " + e.getCause().getMessage());
                }
            }
        }
        if (client.mustClose()) {
            ctx.header("Connection", "close");
        }
        return done;
    }

    private void respond(Job job, Context ctx, List<Embedding> done) throws IOException {
        ObjectNode root = json.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        int tokens = 0;
        for (int i = 0; i < done.size(); i++) {
            float[] v = unit(done.get(i).vector());
            tokens += done.get(i).tokens();
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            e.put("index", i);
            if (job.base64()) {
                e.put("embedding", base64(v));
            } else {
                ArrayNode a = e.putArray("embedding");
                for (float x : v) {
                    a.add(x);
                }
            }
        }
        root.put("model", model.name());
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", tokens);
        usage.put("total_tokens", tokens);
        RequestRecord.of(ctx).tokens(tokens, 0);
        metrics.promptTokens.inc(tokens);
        metrics.e2e.observe((System.nanoTime() - job.arrivalNanos()) / 1e9);
        metrics.requestSuccess.labelValues("stop").inc(done.size());
        ctx.status(200).contentType("application/json").result(json.writeValueAsBytes(root));
    }

    /** The vector scaled to unit Euclidean length (llama.cpp's embd_normalize 2); a zero vector stays zero. */
    static float[] unit(float[] v) {
        double sq = 0;
        for (float x : v) {
            sq += (double) x * x;
        }
        double norm = Math.sqrt(sq);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = norm > 0 ? (float) (v[i] / norm) : 0f;
        }
        return out;
    }

    /** OpenAI's base64 form: the float32 values little-endian, as the SDKs decode them. */
    static String base64(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return Base64.getEncoder().encodeToString(b.array());
    }

    /** Aborts every embedding in flight (shutdown). */
    void abortAll() {
        for (String rid : active) {
            engine.abort(rid);
        }
    }
}
