package io.tessera.server;

import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.tessera.core.format.SafeText;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
 *
 * <p>The template comes from the model file and is not trusted: it renders within
 * {@link TemplateLimits} (see {@link TemplateSandbox}); a rendering that breaks them is a 400 for
 * that request. {@link #probe()} tells at load time whether an ordinary conversation fits.
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
    private final TemplateSandbox sandbox;

    /**
     * @param template the model's template, or null for the fallback
     * @param bosToken the text of the BOS token, as templates write it
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, TemplateLimits.DEFAULTS);
    }

    public ChatTemplate(String template, String bosToken, String eosToken, TemplateLimits limits) {
        this.fallback = template == null || template.isBlank();
        this.source = fallback ? FALLBACK : template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.sandbox = new TemplateSandbox(limits);
        sandbox.jinjava().getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
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
            r = sandbox.render(source, ctx);
        } catch (TemplateSandbox.LimitExceededException e) {
            throw ApiException.badParam("messages", LIMIT_EXCEEDED + e.getMessage());
        } catch (TemplateInputException e) {
            throw ApiException.badParam("messages", REJECTED + e.getMessage());
        } catch (RuntimeException e) {
            throw ApiException.badParam("messages", FAILED + e.getMessage());
        }
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) {
            throw ApiException.badParam("messages", REJECTED + raised);
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw ApiException.badParam("messages", FAILED + e.getMessage());
            }
        }
        return r.getOutput();
    }

    private static final String REJECTED = "the chat template rejected the messages: ";
    private static final String FAILED = "the chat template failed: ";
    private static final String LIMIT_EXCEEDED = "the chat template exceeded its rendering limits: ";

    /** A conversation every chat template should render: system, user, assistant, user. */
    static final List<Map<String, Object>> PROBE = List.of(
            Map.of("role", "system", "content", "You are a helpful assistant."),
            Map.of("role", "user", "content", "Hello!"),
            Map.of("role", "assistant", "content", "Hi! How can I help?"),
            Map.of("role", "user", "content", "Tell me a short story."));

    /**
     * Renders {@link #PROBE} once, as at load time: a template that breaks its limits or fails on
     * an ordinary conversation would fail every chat request.
     *
     * @return a warning for the operator (control characters escaped), or empty when the probe
     *     rendered or the template deliberately rejected it ({@code raise_exception}, e.g. for its
     *     system message)
     */
    public Optional<String> probe() {
        try {
            render(PROBE, true);
            return Optional.empty();
        } catch (ApiException e) {
            if (e.getMessage().startsWith(LIMIT_EXCEEDED) || e.getMessage().startsWith(FAILED)) {
                return Optional.of(SafeText.escape("the model's chat template fails on a four-message conversation, so"
                        + " chat requests will get 400 (" + e.getMessage() + ")"));
            }
            return Optional.empty();
        }
    }

    /** An error a template raises with {@code raise_exception}. */
    static final class TemplateInputException extends RuntimeException {
        TemplateInputException(String message) {
            super(message);
        }
    }
}
