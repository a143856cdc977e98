package io.tessera.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.sampling.LogProbs;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.engine.Usage;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The parts of a completion's JSON that a whole response and a streamed chunk share: OpenAI's
 * {@code usage} object and the chat and legacy (completions) {@code logprobs} objects.
 */
final class ChoiceJson {

    private final Tokenizer tokenizer;

    ChoiceJson(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** OpenAI's {@code usage}, with the prompt tokens the prefix cache held. */
    static void putUsage(ObjectNode root, Usage u) {
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", u.promptTokens());
        usage.put("completion_tokens", u.completionTokens());
        usage.put("total_tokens", u.totalTokens());
        usage.putObject("prompt_tokens_details").put("cached_tokens", u.cachedPromptTokens());
    }

    private String tokenText(int id) {
        return tokenizer.decode(new int[] {id});
    }

    void chatLogprobs(ObjectNode lp, List<LogProbs> list, int top) {
        ArrayNode content = lp.putArray("content");
        for (LogProbs l : list) {
            ObjectNode e = content.addObject();
            String t = tokenText(l.token());
            e.put("token", t);
            e.put("logprob", l.logprob());
            putBytes(e, t);
            ArrayNode tops = e.putArray("top_logprobs");
            for (int j = 0; j < Math.min(top, l.topIds().length); j++) {
                ObjectNode o = tops.addObject();
                String s = tokenText(l.topIds()[j]);
                o.put("token", s);
                o.put("logprob", l.topLogprobs()[j]);
                putBytes(o, s);
            }
        }
        lp.putNull("refusal");
    }

    private static void putBytes(ObjectNode e, String t) {
        ArrayNode b = e.putArray("bytes");
        for (byte x : t.getBytes(StandardCharsets.UTF_8)) {
            b.add(x & 0xff);
        }
    }

    /** OpenAI's legacy logprobs object; prompt tokens (echo) have a null log-probability. */
    void completionLogprobs(ObjectNode lp, int[] promptIds, List<LogProbs> list, int offset) {
        ArrayNode tokens = lp.putArray("tokens");
        ArrayNode tokenLogprobs = lp.putArray("token_logprobs");
        ArrayNode tops = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int off = offset;
        for (int id : promptIds) {
            String t = tokenText(id);
            tokens.add(t);
            tokenLogprobs.addNull();
            tops.addNull();
            offsets.add(off);
            off += t.length();
        }
        for (LogProbs l : list) {
            String t = tokenText(l.token());
            tokens.add(t);
            tokenLogprobs.add(l.logprob());
            ObjectNode top = tops.addObject();
            for (int j = 0; j < l.topIds().length; j++) {
                top.put(tokenText(l.topIds()[j]), l.topLogprobs()[j]);
            }
            offsets.add(off);
            off += t.length();
        }
    }
}
