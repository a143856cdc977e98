package io.tessera.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders chat messages into a prompt with a Jinja chat template, as Hugging Face's
 * {@code apply_chat_template} does: variables {@code messages} (each with {@code role} and
 * {@code content}), {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the
 * function {@code raise_exception}; blocks are trimmed ({@code trim_blocks}, {@code lstrip_blocks}).
 *
 * <p>A model without a template ({@code tokenizer.chat_template} absent from its metadata, e.g. a
 * llama2.c checkpoint) gets {@link #FALLBACK}: a plain transcript, a system message first as a
 * paragraph, then one {@code "Role: content"} line per message, ending in {@code "Assistant:"}.
 * The fallback emits no special tokens; the prompt is encoded with BOS added.
 */
public final class ChatTemplate {

    /** The template used when the model has none. */
    public static final String FALLBACK = """
            {%- for message in messages -%}
            {%- if message['role'] == 'system' -%}
            {{ message['content'] }}{{ '\\n\\n' }}
            {%- else -%}
            {{ message['role'] | capitalize }}: {{ message['content'] }}{{ '\\n' }}
            {%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt -%}Assistant:{%- endif -%}""";

    private final String source;
    private final boolean fallback;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param template the model's template, or null for the fallback
     * @param bosToken the text of the BOS token, as templates write it
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.fallback = template == null || template.isBlank();
        this.source = fallback ? FALLBACK : template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
    }

    /** Whether this is the fallback (the prompt then needs BOS, and special-token text stays plain text). */
    public boolean isFallback() {
        return fallback;
    }

    public String source() {
        return source;
    }

    /** The message of the last {@code raise_exception} of a render on this thread. */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    /** Called by templates: an error the template raises about its input. */
    public static String raiseException(String message) {
        RAISED.set(message);
        throw new TemplateInputException(message);
    }

    /**
     * Renders the prompt.
     *
     * @throws ApiException 400 when the template rejects the messages or fails on them
     */
    public String render(List<Map<String, Object>> messages, boolean addGenerationPrompt) {
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", messages);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        RenderResult r;
        RAISED.remove();
        try {
            r = jinjava.renderForResult(source, ctx);
        } catch (TemplateInputException e) {
            throw ApiException.badParam("messages", "the chat template rejected the messages: " + e.getMessage());
        } catch (RuntimeException e) {
            throw ApiException.badParam("messages", "the chat template failed: " + e.getMessage());
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL || RAISED.get() != null) {
                String msg = RAISED.get() != null ? RAISED.get() : e.getMessage();
                RAISED.remove();
                throw ApiException.badParam("messages", "the chat template rejected the messages: " + msg);
            }
        }
        return r.getOutput();
    }

    /** An error a template raises with {@code raise_exception}. */
    static final class TemplateInputException extends RuntimeException {
        TemplateInputException(String message) {
            super(message);
        }
    }
}
