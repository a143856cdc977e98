package io.tessera.server;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits one choice's generated text, delta by delta, into plain content and tool calls in a
 * {@link ToolCallSyntax}, as OpenAI streams them: a call first appears with its id and function
 * name, then its arguments arrive in pieces. The same parser reads a whole reply at once for a
 * non-streamed response, so both forms agree.
 *
 * <p>Invariants: content is never held back longer than it could still be the start of a call's
 * opening text; argument text is passed on as it comes but for a final {@code '}'} followed by
 * nothing but blanks and the start of the closing text, because the call's own closing brace is
 * the last {@code '}'} of a call: any text not so placed belongs to the arguments. Text that turns out not to be a call (no {@code "name"} head) is passed on as content.
 */
final class ToolCallParser {
    /** What the text so far amounts to: content, or a call's start, or a piece of its arguments. */
    sealed interface Piece {
    }

    record Content(String text) implements Piece {
    }

    record CallStart(int index, String id, String name) implements Piece {
    }

    record Arguments(int index, String text) implements Piece {
    }

    private static final Pattern HEAD =
            Pattern.compile("^\\s*\\{\\s*\"name\"\\s*:\\s*\"([A-Za-z0-9_-]{1,64})\"\\s*,\\s*\"(arguments|parameters)\"\\s*:\\s*");
    private static final String PYTHON_TAG = "<|python_tag|>";

    private final ToolCallSyntax syntax;
    private final StringBuilder pending = new StringBuilder();
    private boolean inCall;
    /** For the JSON syntax: whether the reply's first text decided that it is content. */
    private boolean decided;
    private int calls;
    private String callName;
    /** In {@link #pending}, while in a call with a known name: where the unsent arguments start. */
    private int argumentsFrom;
    private boolean argumentsStarted;

    ToolCallParser(ToolCallSyntax syntax) {
        this.syntax = syntax;
    }

    /** Calls found so far. */
    int calls() {
        return calls;
    }

    /** The pieces a new delta of text completes. */
    List<Piece> feed(String text) {
        pending.append(text);
        List<Piece> out = new ArrayList<>();
        drain(out, false);
        return out;
    }

    /** The pieces left at the end of the text. */
    List<Piece> finish() {
        List<Piece> out = new ArrayList<>();
        drain(out, true);
        return out;
    }

    /** Reads a whole reply. */
    static List<Piece> parseAll(ToolCallSyntax syntax, String text) {
        ToolCallParser p = new ToolCallParser(syntax);
        List<Piece> out = p.feed(text);
        out.addAll(p.finish());
        return out;
    }

    private void drain(List<Piece> out, boolean end) {
        while (true) {
            if (!inCall) {
                if (!openCall(out, end)) {
                    return;
                }
            } else if (!advanceCall(out, end)) {
                return;
            }
        }
    }

    /** Content until a call opens; true when one did. */
    private boolean openCall(List<Piece> out, boolean end) {
        if (syntax.open.isEmpty()) {
            // the reply is a call exactly when its first non-blank text is a JSON object
            if (!decided) {
                String s = pending.toString().stripLeading();
                if (s.isEmpty() && !end) {
                    return false;
                }
                if (s.startsWith("{") || s.startsWith(PYTHON_TAG)) {
                    String body = s.startsWith(PYTHON_TAG) ? s.substring(PYTHON_TAG.length()) : s;
                    pending.setLength(0);
                    pending.append(body);
                    decided = true;
                    inCall = true;
                    return true;
                }
                if (!end && PYTHON_TAG.startsWith(s)) {
                    return false;
                }
                decided = true;
            }
            emitContent(out, pending.length());
            return false;
        }
        int at = pending.indexOf(syntax.open);
        if (at >= 0) {
            emitContent(out, at);
            pending.delete(0, syntax.open.length());
            inCall = true;
            return true;
        }
        emitContent(out, end ? pending.length() : pending.length() - partialSuffix(pending, syntax.open));
        return false;
    }

    /** Within a call; true when it closed and content may follow. */
    private boolean advanceCall(List<Piece> out, boolean end) {
        if (callName == null) {
            Matcher m = HEAD.matcher(pending);
            if (m.find()) {
                callName = m.group(1);
                argumentsFrom = m.end();
                out.add(new CallStart(calls, "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24),
                        callName));
            }
        }
        int close = syntax.close.isEmpty() ? -1 : pending.indexOf(syntax.close);
        if (close < 0 && end) {
            close = pending.length(); // the end of the reply closes the call (or cuts it short)
        }
        int closeLength = close >= 0 && close < pending.length() ? syntax.close.length() : 0;
        if (callName == null) {
            boolean notACall = close < 0 && !couldStillBeHead();
            if (close < 0 && !notACall) {
                return false;
            }
            // not a call: its text, as written, is content
            int upTo = notACall ? pending.length() : close + closeLength;
            out.add(new Content(syntax.open + pending.substring(0, upTo)));
            pending.delete(0, upTo);
            inCall = false;
            return !notACall;
        }
        String body = close < 0 ? pending.toString() : pending.substring(0, close);
        while (!argumentsStarted && argumentsFrom < body.length() && Character.isWhitespace(body.charAt(argumentsFrom))) {
            argumentsFrom++; // the blank between the key and the arguments is not part of them
        }
        int lastBrace = body.lastIndexOf('}');
        int argumentsTo;
        if (close < 0) {
            // hold back a '}' that may be the call's own, with what follows it while that may still be the end
            String after = lastBrace < 0 ? null : body.substring(lastBrace + 1).stripLeading();
            boolean mayBeLast = after != null && syntax.close.startsWith(after);
            argumentsTo = Math.max(argumentsFrom, mayBeLast ? lastBrace : body.length());
        } else if (lastBrace >= argumentsFrom && body.substring(lastBrace + 1).isBlank()) {
            argumentsTo = lastBrace; // the call's own closing brace
        } else {
            argumentsTo = body.stripTrailing().length(); // cut short before its closing brace
        }
        if (argumentsTo > argumentsFrom) {
            out.add(new Arguments(calls, pending.substring(argumentsFrom, argumentsTo)));
            argumentsStarted = true;
            argumentsFrom = argumentsTo;
        }
        if (close < 0) {
            return false;
        }
        pending.delete(0, close + closeLength);
        calls++;
        callName = null;
        argumentsStarted = false;
        inCall = false;
        return !end || !pending.isEmpty();
    }

    /** Whether the call's text so far may still become {@code {"name": "...", "arguments": }. */
    private boolean couldStillBeHead() {
        String s = pending.toString().stripLeading();
        return s.length() < 100 + 64 && (s.isEmpty() || s.charAt(0) == '{');
    }

    private void emitContent(List<Piece> out, int upTo) {
        if (upTo > 0) {
            out.add(new Content(pending.substring(0, upTo)));
            pending.delete(0, upTo);
        }
    }

    /** Length of the longest suffix of {@code s} that is a proper prefix of {@code marker}. */
    private static int partialSuffix(CharSequence s, String marker) {
        for (int k = Math.min(marker.length() - 1, s.length()); k > 0; k--) {
            if (s.subSequence(s.length() - k, s.length()).toString().equals(marker.substring(0, k))) {
                return k;
            }
        }
        return 0;
    }
}
