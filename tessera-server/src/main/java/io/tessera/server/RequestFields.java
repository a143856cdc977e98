package io.tessera.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;
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
            "guided_regex", "guided_choice", "structured_outputs");
    private static final Set<String> COMPLETION = Set.of("prompt", "echo", "logprobs", "best_of");
    private static final Set<String> CHAT = Set.of("messages", "max_completion_tokens", "logprobs", "top_logprobs",
            "add_generation_prompt", "tools", "tool_choice", "parallel_tool_calls");
    /** Accepted and without effect on the output. */
    private static final Set<String> METADATA = Set.of("user", "store", "metadata", "service_tier",
            "prompt_cache_key", "safety_identifier", "prediction", "request_id");

    /** Defined by OpenAI or vLLM, changing the output, not implemented here: refused by name. */
    private static final Map<String, String> REFUSED = Map.ofEntries(
            Map.entry("suffix", "completions"),
            Map.entry("audio", "chat"),
            Map.entry("modalities", "chat"),
            Map.entry("reasoning_effort", "chat"),
            Map.entry("verbosity", "chat"),
            Map.entry("web_search_options", "chat"),
            Map.entry("functions", "chat"),
            Map.entry("function_call", "chat"),
            Map.entry("guided_grammar", "both"),
            Map.entry("guided_decoding_backend", "both"),
            Map.entry("guided_whitespace_pattern", "both"),
            Map.entry("min_tokens", "both"),
            Map.entry("skip_special_tokens", "both"),
            Map.entry("include_stop_str_in_output", "both"),
            Map.entry("spaces_between_special_tokens", "both"),
            Map.entry("truncate_prompt_tokens", "both"),
            Map.entry("prompt_logprobs", "both"),
            Map.entry("use_beam_search", "both"),
            Map.entry("length_penalty", "both"),
            Map.entry("bad_words", "both"),
            Map.entry("allowed_token_ids", "both"),
            Map.entry("return_tokens_as_token_ids", "both"),
            Map.entry("priority", "both"),
            Map.entry("echo", "chat"),
            Map.entry("documents", "chat"),
            Map.entry("chat_template", "chat"),
            Map.entry("continue_final_message", "chat"),
            Map.entry("mm_processor_kwargs", "chat"));

    private RequestFields() {
    }

    /** Refuses a body with an unsupported or unknown field, naming the first one. */
    static void check(JsonNode body, OpenAiApi.Kind kind) {
        Set<String> own = kind == OpenAiApi.Kind.CHAT ? CHAT : COMPLETION;
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (COMMON.contains(name) || own.contains(name) || METADATA.contains(name)) {
                continue;
            }
            if (REFUSED.containsKey(name)) {
                if (body.get(name).isNull()) {
                    continue; // null is how SDKs write "not given"
                }
                throw ApiException.badParam(name, "'" + name + "' is not supported by this server");
            }
            throw ApiException.badParam(name, "Unrecognized request argument supplied: " + name);
        }
    }
}
