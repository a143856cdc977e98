package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Set;

/**
 * Which request fields the generation endpoints know, so that none is silently ignored: a field
 * is implemented, accepted as metadata (it cannot change the output), or refused with a 400
 * naming it; a field neither OpenAI nor vLLM defines is a 400 as OpenAI answers it. The one list
 * of supported fields; the README's table follows it.
 */
final class RequestFields {

    /** Implemented by both endpoints (OpenAI's, then vLLM's extensions). */
    private static final Set<String> COMMON = Set.of("model", "stream", "stream_options", "max_tokens", "n",
            "temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "logit_bias",
            "response_format", "top_k", "min_p", "repetition_penalty", "stop_token_ids", "ignore_eos", "guided_json",
            "guided_regex", "guided_choice", "guided_grammar", "grammar", "structured_outputs",
            "kv_transfer_params");
    private static final Set<String> COMPLETION = Set.of("prompt", "echo", "logprobs", "best_of");
    private static final Set<String> CHAT = Set.of("messages", "max_completion_tokens", "logprobs", "top_logprobs",
            "add_generation_prompt", "continue_final_message", "chat_template_kwargs", "tools", "tool_choice",
            "parallel_tool_calls");
    /** {@code /v1/embeddings}: OpenAI's fields ({@code user} is metadata). */
    private static final Set<String> EMBEDDINGS = Set.of("model", "input", "encoding_format", "dimensions");
    /** vLLM's embedding extensions that would change the vector, not implemented. */
    private static final Set<String> EMBEDDINGS_REFUSED = Set.of("truncate_prompt_tokens", "add_special_tokens",
            "normalize", "priority", "mm_processor_kwargs", "additional_data");

    /** Accepted and without effect on the output. */
    private static final Set<String> METADATA = Set.of("user", "store", "metadata", "service_tier",
            "prompt_cache_key", "safety_identifier", "prediction", "request_id");

    /** Defined by OpenAI or vLLM, changing the output, not implemented here: refused by name. */
    private static final Set<String> REFUSED = Set.of(
            "suffix", "audio", "modalities", "reasoning_effort", "verbosity", "web_search_options", "functions",
            "function_call", "echo", "documents", "chat_template", "mm_processor_kwargs",
            "guided_decoding_backend", "guided_whitespace_pattern", "min_tokens",
            "skip_special_tokens", "include_stop_str_in_output", "spaces_between_special_tokens",
            "truncate_prompt_tokens", "prompt_logprobs", "use_beam_search", "length_penalty", "bad_words",
            "allowed_token_ids", "return_tokens_as_token_ids", "priority");

    private RequestFields() {
    }

    /** Refuses a body with an unsupported or unknown field, naming the first one. */
    static void check(JsonNode body, GenerationJob.Kind kind) {
        check(body, COMMON, kind == GenerationJob.Kind.CHAT ? CHAT : COMPLETION, REFUSED);
    }

    /** Refuses a request for another model than the one served (404, as OpenAI answers). */
    static void checkModel(JsonNode body, ServedModel model) {
        String name = Fields.string(body, "model", null);
        if (name != null && !name.equals(model.name())) {
            throw ApiException.notFound("The model '" + name + "' does not exist. This server serves '" + model.name()
                    + "'.", "model_not_found");
        }
    }

    /** The same for {@code /v1/embeddings}. */
    static void checkEmbeddings(JsonNode body) {
        check(body, EMBEDDINGS, Set.of(), EMBEDDINGS_REFUSED);
    }

    private static void check(JsonNode body, Set<String> common, Set<String> own, Set<String> refused) {
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (common.contains(name) || own.contains(name) || METADATA.contains(name)) {
                continue;
            }
            if (refused.contains(name)) {
                if (body.get(name).isNull()) {
                    continue; // null is how SDKs write "not given"
                }
                throw ApiException.badParam(name, "'" + name + "' is not supported by this server");
            }
            throw ApiException.badParam(name, "Unrecognized request argument supplied: " + name);
        }
    }
}
