package io.tessera.core.structured;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses a regular expression (the common subset of Python's, JavaScript's and Java's syntax)
 * into an {@link Rx} that matches the whole text: literals, {@code .}, classes {@code [...]}
 * with ranges and negation, {@code \d \w \s} and their negations, {@code \n \t \r \f \v \0},
 * {@code \xHH}, {@code \\uHHHH}, groups {@code (...)} and {@code (?:...)}, alternation, and the
 * quantifiers {@code * + ? {m} {m,} {m,n}} (lazy forms match the same texts). A leading
 * {@code ^} and a trailing {@code $} are accepted. Backreferences, lookaround, word boundaries
 * and inline flags are refused by name.
 */
final class RegexParser {
    /** Largest count a quantifier may name. */
    static final int MAX_REPEAT = 1000;

    private final String src;
    private final CodePoints universe;
    private final String what;
    private int pos;

    private RegexParser(String src, CodePoints universe, String what) {
        this.src = src;
        this.universe = universe;
        this.what = what;
    }

    /**
     * @param universe the characters the expression may produce at all (a class or {@code .}
     *     is cut down to them)
     * @param what the request field, for messages
     */
    static Rx parse(String regex, CodePoints universe, String what) {
        return parse(regex, universe, what, false);
    }

    /**
     * @param search match anywhere in the text, as JSON Schema's {@code pattern} does, unless
     *     anchored by {@code ^} and {@code $}; else the whole text must match
     */
    static Rx parse(String regex, CodePoints universe, String what, boolean search) {
        RegexParser p = new RegexParser(regex, universe, what);
        boolean anchoredStart = p.peek('^');
        if (anchoredStart) {
            p.pos++;
        }
        int trailingBackslashes = 0;
        for (int i = regex.length() - 2; i >= 0 && regex.charAt(i) == '\\'; i--) {
            trailingBackslashes++;
        }
        boolean anchoredEnd = regex.endsWith("$") && trailingBackslashes % 2 == 0;
        Rx rx = p.alternation();
        if (p.pos < regex.length()) {
            throw p.error("unbalanced ')'");
        }
        if (!search) {
            return rx;
        }
        Rx any = new Rx.Repeat(p.chars(CodePoints.range(0, CodePoints.MAX)), 0, -1);
        return Rx.seq(anchoredStart ? Rx.EMPTY : any, rx, anchoredEnd ? Rx.EMPTY : any);
    }

    private ConstraintException error(String message) {
        return new ConstraintException(what + ": " + message + " at position " + pos + " of the regular expression");
    }

    private boolean peek(char c) {
        return pos < src.length() && src.charAt(pos) == c;
    }

    private boolean atEndAnchor() {
        return peek('$') && pos == src.length() - 1;
    }

    private Rx alternation() {
        List<Rx> options = new ArrayList<>();
        options.add(concatenation());
        while (peek('|')) {
            pos++;
            options.add(concatenation());
        }
        return options.size() == 1 ? options.get(0) : new Rx.Alt(options);
    }

    private Rx concatenation() {
        List<Rx> parts = new ArrayList<>();
        while (pos < src.length() && !peek('|') && !peek(')')) {
            if (atEndAnchor()) {
                pos++;
                break;
            }
            parts.add(quantified(atom()));
        }
        return parts.size() == 1 ? parts.get(0) : new Rx.Seq(parts);
    }

    private Rx quantified(Rx atom) {
        Rx rx = atom;
        while (pos < src.length()) {
            char c = src.charAt(pos);
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = -1;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && braceQuantifier()) {
                int[] mm = braces();
                min = mm[0];
                max = mm[1];
            } else {
                break;
            }
            if (peek('?')) {
                pos++; // lazy: the same set of texts
            } else if (peek('+')) {
                throw error("possessive quantifiers are not supported");
            }
            rx = new Rx.Repeat(rx, min, max);
        }
        return rx;
    }

    private boolean braceQuantifier() {
        int end = src.indexOf('}', pos);
        return end > pos + 1 && src.substring(pos + 1, end).matches("\\d+(,\\d*)?");
    }

    private int[] braces() {
        int end = src.indexOf('}', pos);
        String body = src.substring(pos + 1, end);
        pos = end + 1;
        int comma = body.indexOf(',');
        int min = count(comma < 0 ? body : body.substring(0, comma));
        int max = comma < 0 ? min : comma == body.length() - 1 ? -1 : count(body.substring(comma + 1));
        if (max >= 0 && max < min) {
            throw error("quantifier {" + body + "} has its maximum below its minimum");
        }
        return new int[] {min, max};
    }

    private int count(String digits) {
        if (digits.length() > 6 || Integer.parseInt(digits) > MAX_REPEAT) {
            throw error("quantifier counts above " + MAX_REPEAT + " are not supported");
        }
        return Integer.parseInt(digits);
    }

    private Rx atom() {
        char c = src.charAt(pos);
        switch (c) {
            case '(' -> {
                pos++;
                if (peek('?')) {
                    if (pos + 1 < src.length() && src.charAt(pos + 1) == ':') {
                        pos += 2;
                    } else if (pos + 1 < src.length() && src.charAt(pos + 1) == 'P'
                            || pos + 1 < src.length() && src.charAt(pos + 1) == '<'
                            && pos + 2 < src.length() && src.charAt(pos + 2) != '=' && src.charAt(pos + 2) != '!') {
                        int close = src.indexOf('>', pos);
                        if (close < 0) {
                            throw error("unterminated group name");
                        }
                        pos = close + 1; // named group: a plain group here
                    } else {
                        throw error("lookaround and inline flags ((?...)) are not supported");
                    }
                }
                Rx inner = alternation();
                if (!peek(')')) {
                    throw error("missing ')'");
                }
                pos++;
                return inner;
            }
            case '[' -> {
                return chars(charClass());
            }
            case '.' -> {
                pos++;
                return chars(CodePoints.range('\n', '\n').complement());
            }
            case '\\' -> {
                pos++;
                return chars(escape(false));
            }
            case '*', '+', '?' -> throw error("quantifier '" + c + "' has nothing to repeat");
            case '^' -> throw error("'^' is only supported at the start");
            case '$' -> throw error("'$' is only supported at the end");
            default -> {
                int cp = src.codePointAt(pos);
                pos += Character.charCount(cp);
                return chars(CodePoints.range(cp, cp));
            }
        }
    }

    private Rx chars(CodePoints set) {
        CodePoints allowed = set.minus(universe.complement());
        return allowed.isEmpty() ? new Rx.Alt(List.of()) : allowed.toRx();
    }

    private CodePoints charClass() {
        pos++; // [
        boolean negate = peek('^');
        if (negate) {
            pos++;
        }
        CodePoints set = CodePoints.of(List.of());
        boolean first = true;
        while (true) {
            if (pos >= src.length()) {
                throw error("missing ']'");
            }
            char c = src.charAt(pos);
            if (c == ']' && !first) {
                pos++;
                break;
            }
            first = false;
            CodePoints item;
            int lo;
            if (c == '\\') {
                pos++;
                item = escape(true);
                lo = single(item);
            } else {
                lo = src.codePointAt(pos);
                pos += Character.charCount(lo);
                item = CodePoints.range(lo, lo);
            }
            if (lo >= 0 && peek('-') && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                pos++;
                int hi;
                if (peek('\\')) {
                    pos++;
                    hi = single(escape(true));
                    if (hi < 0) {
                        throw error("a class range must end in a single character");
                    }
                } else {
                    hi = src.codePointAt(pos);
                    pos += Character.charCount(hi);
                }
                if (hi < lo) {
                    throw error("class range out of order");
                }
                item = CodePoints.range(lo, hi);
            }
            set = set.union(item);
        }
        return negate ? set.complement() : set;
    }

    /** The character of a one-character set, else -1. */
    private static int single(CodePoints set) {
        return set.singleOrMinusOne();
    }

    private CodePoints escape(boolean inClass) {
        if (pos >= src.length()) {
            throw error("trailing backslash");
        }
        char c = src.charAt(pos++);
        return switch (c) {
            case 'd' -> CodePoints.range('0', '9');
            case 'D' -> CodePoints.range('0', '9').complement();
            case 'w' -> word();
            case 'W' -> word().complement();
            case 's' -> space();
            case 'S' -> space().complement();
            case 'n' -> CodePoints.range('\n', '\n');
            case 't' -> CodePoints.range('\t', '\t');
            case 'r' -> CodePoints.range('\r', '\r');
            case 'f' -> CodePoints.range('\f', '\f');
            case 'v' -> CodePoints.range(0x0B, 0x0B);
            case '0' -> CodePoints.range(0, 0);
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'b', 'B' -> throw error(inClass ? "'\\b' in a class is not supported" : "word boundaries (\\" + c
                    + ") are not supported");
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    throw error(c >= '1' && c <= '9' ? "backreferences are not supported"
                            : "unknown escape '\\" + c + "'");
                }
                yield CodePoints.range(c, c);
            }
        };
    }

    private CodePoints hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("incomplete hexadecimal escape");
        }
        try {
            int cp = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            return CodePoints.range(cp, cp);
        } catch (NumberFormatException e) {
            throw error("bad hexadecimal escape");
        }
    }

    private static CodePoints word() {
        return CodePoints.range('a', 'z').union(CodePoints.range('A', 'Z')).union(CodePoints.range('0', '9'))
                .union(CodePoints.range('_', '_'));
    }

    private static CodePoints space() {
        return CodePoints.range('\t', '\r').union(CodePoints.range(' ', ' '));
    }
}
