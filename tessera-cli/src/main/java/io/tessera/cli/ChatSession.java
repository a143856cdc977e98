package io.tessera.cli;

import io.tessera.engine.Engine;
import io.tessera.engine.GenerateParams;
import io.tessera.engine.GenerateRequest;
import io.tessera.engine.TimedGeneration;
import io.tessera.server.ApiException;
import io.tessera.server.ServedModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A conversation of {@code tessera run --chat}. Every turn renders the whole history with the model's
 * chat template and generates the reply as a new request; the engine's prefix cache holds the earlier
 * turns' KV blocks, so a turn computes only its new tokens. When the history no longer leaves room for
 * a reply in the context, its oldest exchanges are dropped (the system message stays).
 */
final class ChatSession {

    private final Engine engine;
    private final ServedModel model;
    private final GenerateParams params;
    private final String system;
    private final PrintStream out;
    private final PrintStream err;
    private final List<Map<String, Object>> history = new ArrayList<>();
    private int turns;

    ChatSession(Engine engine, ServedModel model, GenerateParams params, String system, PrintStream out,
            PrintStream err) {
        this.engine = engine;
        this.model = model;
        this.params = params;
        this.system = system;
        this.out = out;
        this.err = err;
    }

    /** Reads user lines until end of input or /exit; /reset forgets the conversation. */
    void converse(BufferedReader in) throws IOException, InterruptedException {
        while (true) {
            err.print("> ");
            err.flush();
            String line = in.readLine();
            if (line == null) {
                err.println();
                return;
            }
            line = line.strip();
            switch (line) {
                case "" -> { }
                case "/exit", "/quit" -> {
                    return;
                }
                case "/reset" -> {
                    history.clear();
                    err.println("(conversation forgotten)");
                }
                default -> reply(line);
            }
        }
    }

    /** Answers one user message, printing the reply as it comes; returns its generation. */
    TimedGeneration reply(String user) throws InterruptedException {
        history.add(message("user", user));
        int[] prompt = fittedPrompt();
        if (prompt == null) {
            history.remove(history.size() - 1);
            err.println("(that message does not fit in the model's context of " + model.contextLength()
                    + " tokens with room for a reply; nothing was sent)");
            return null;
        }
        int room = Math.min(params.maxTokens(), model.contextLength() - prompt.length);
        TimedGeneration g = TimedGeneration.run(engine, new GenerateRequest("chat-" + ++turns, prompt,
                params.withMaxTokens(room)), piece -> {
                    out.print(piece);
                    out.flush();
                });
        out.println();
        // stripped as templates expect content: the fallback's "Assistant:" is followed by the reply's own space
        history.add(message("assistant", g.sample().text().strip()));
        err.printf(Locale.ROOT, "(%d prompt tokens, %d from the cache; %d tokens, %.1f tokens/s; %s)%n",
                g.usage().promptTokens(), g.usage().cachedPromptTokens(), g.usage().completionTokens(),
                g.decodeTokensPerSecond(), g.sample().finishReason().openAiName());
        return g;
    }

    /**
     * The history's tokens, after dropping the oldest exchanges until a reply of at least a quarter of
     * the max tokens fits; null when even the last message alone does not.
     */
    private int[] fittedPrompt() {
        int room = Math.max(1, Math.min(params.maxTokens(), model.contextLength() / 4));
        while (true) {
            int[] tokens = render();
            if (tokens.length + room <= model.contextLength()) {
                return tokens;
            }
            if (history.size() <= 1) {
                return null;
            }
            // drop the oldest user message and the replies that followed it
            history.remove(0);
            while (history.size() > 1 && !"user".equals(history.get(0).get("role"))) {
                history.remove(0);
            }
            err.println("(the conversation outgrew the context: its oldest exchange was dropped)");
        }
    }

    private int[] render() {
        List<Map<String, Object>> messages = new ArrayList<>();
        if (system != null) {
            messages.add(message("system", system));
        }
        messages.addAll(history);
        try {
            return model.encodeChatPrompt(model.chatTemplate().render(messages, true));
        } catch (ApiException e) {
            throw new IllegalArgumentException("the chat template failed on the conversation: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> message(String role, String content) {
        return Map.of("role", role, "content", content);
    }
}
