package io.tessera.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.tessera.engine.ContextLengthExceededException;
import io.tessera.engine.GenerationLimits;

/** vLLM's {@code /tokenize} and {@code /detokenize}, with the served model's tokenizer and chat template. */
final class TokenizeHandler {

    private final ServedModel model;
    private final GenerationLimits limits;
    private final PromptEncoder encoder;
    private final ChatPromptRenderer chatRenderer;
    private final ObjectMapper json;

    TokenizeHandler(ServedModel model, GenerationLimits limits, PromptEncoder encoder, ChatPromptRenderer chatRenderer,
            ObjectMapper json) {
        this.model = model;
        this.limits = limits;
        this.encoder = encoder;
        this.chatRenderer = chatRenderer;
        this.json = json;
    }

    /** vLLM's {@code /tokenize}: a prompt, or chat messages rendered by the template, to token ids. */
    void tokenize(Context ctx, JsonNode body, long arrivalNanos) throws JsonProcessingException {
        RequestFields.checkModel(body, model);
        int[] ids;
        String what;
        if (body.has("messages")) {
            ids = encoder.encodeChat(chatRenderer.render(body));
            what = "messages";
        } else {
            String prompt = Fields.string(body, "prompt", null);
            if (prompt == null) {
                throw ApiException.badParam("prompt", "'prompt' (a string) or 'messages' is required");
            }
            boolean special = Fields.bool(body, "add_special_tokens", true);
            ids = encoder.encode(prompt, "prompt", special);
            what = "prompt";
        }
        try {
            limits.checkInput(ids.length);
        } catch (ContextLengthExceededException e) {
            throw ApiException.badParam(what, "This model's maximum context length is " + e.contextLength()
                    + " tokens. However, your " + what + " resulted in " + ids.length + " tokens.");
        }
        ObjectNode root = json.createObjectNode();
        root.put("count", ids.length);
        root.put("max_model_len", model.contextLength());
        ArrayNode t = root.putArray("tokens");
        for (int id : ids) {
            t.add(id);
        }
        ctx.contentType("application/json").result(json.writeValueAsBytes(root));
    }

    /** vLLM's {@code /detokenize}: token ids to text. */
    void detokenize(Context ctx, JsonNode body, long arrivalNanos) throws JsonProcessingException {
        RequestFields.checkModel(body, model);
        if (!Fields.present(body, "tokens")) {
            throw ApiException.badParam("tokens", "'tokens' (an array of token ids) is required");
        }
        int[] ids = Fields.intArray(body, "tokens");
        try {
            limits.checkInput(ids.length);
        } catch (ContextLengthExceededException e) {
            throw ApiException.badParam("tokens", "'tokens' has " + ids.length + " ids, more than this model's"
                    + " maximum context length of " + e.contextLength() + " tokens");
        }
        int vocab = model.tokenizer().vocabSize();
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw ApiException.badParam("tokens", "token id " + id + " is out of range for a vocabulary of "
                        + vocab);
            }
        }
        ObjectNode root = json.createObjectNode();
        root.put("prompt", model.tokenizer().decode(ids));
        ctx.contentType("application/json").result(json.writeValueAsBytes(root));
    }
}
