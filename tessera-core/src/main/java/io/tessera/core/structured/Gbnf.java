package io.tessera.core.structured;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a grammar in llama.cpp's GBNF: rules {@code name ::= alternatives}, {@code root} the
 * start; literals {@code "..."}, character classes {@code [...]} and {@code [^...]} with ranges,
 * {@code .} for any character, rule references, grouping, alternation {@code |}, the repetitions
 * {@code * + ? {m} {m,} {m,n}}, and {@code #} comments. Escapes (in literals and classes):
 * {@code \xHH \\uHHHH \UHHHHHHHH \t \r \n \\ \" \[ \]}. As in llama.cpp, a rule ends at the end
 * of its line, except inside parentheses and after {@code ::=} or {@code |}. Names are letters,
 * digits, {@code -} and {@code _}.
 *
 * <p>The result is one {@link Rx} per rule, {@code root} first, a reference to a rule being an
 * {@link Rx.Call} of its index. Every error names what is wrong and where (line and column).
 */
final class Gbnf {
    /** Rules a grammar may define. */
    static final int MAX_RULES = 1024;
    /** Parentheses nested inside one another at most. */
    static final int MAX_GROUP_DEPTH = 64;
    /** Repetition operators in a row after one item at most ({@code x*?} is two). */
    static final int MAX_POSTFIX_RUN = 3;
    /** Largest count a repetition may name. */
    static final int MAX_REPEAT = RegexParser.MAX_REPEAT;

    /** A parsed grammar: rule names and bodies, {@code root} at index 0. */
    record Grammar(List<String> names, List<Rx> rules) {
    }

    private final String src;
    private final String field;
    private final Map<String, Integer> ids = new HashMap<>();
    private final Map<Integer, Integer> firstUse = new LinkedHashMap<>();
    private final List<String> names = new ArrayList<>();
    private final List<Rx> bodies = new ArrayList<>();
    private int pos;
    private int depth;

    private Gbnf(String src, String field) {
        this.src = src;
        this.field = field;
        id("root"); // root is rule 0 whatever the order of definition
    }

    /**
     * @param field the request field, for messages
     * @throws ConstraintException naming the problem and its place
     */
    static Grammar parse(String text, String field) {
        Gbnf p = new Gbnf(text, field);
        p.skipSpace(true);
        if (p.pos == text.length()) {
            throw new ConstraintException(field + ": the grammar is empty (it needs at least a 'root' rule)");
        }
        while (p.pos < text.length()) {
            p.rule();
            p.skipSpace(true);
        }
        for (int r = 0; r < p.names.size(); r++) {
            if (p.bodies.get(r) == null) {
                if (r == 0) {
                    throw new ConstraintException(field + ": the grammar has no 'root' rule (the start of the text)");
                }
                Integer at = p.firstUse.get(r);
                throw new ConstraintException(field + ": rule '" + p.names.get(r) + "' is used"
                        + (at == null ? "" : " at " + p.where(at)) + " but never defined");
            }
        }
        return new Grammar(List.copyOf(p.names), List.copyOf(p.bodies));
    }

    private int id(String name) {
        Integer id = ids.get(name);
        if (id == null) {
            if (names.size() >= MAX_RULES) {
                throw error("the grammar has more than " + MAX_RULES + " rules");
            }
            id = names.size();
            ids.put(name, id);
            names.add(name);
            bodies.add(null);
        }
        return id;
    }

    private void rule() {
        int start = pos;
        String name = name();
        skipSpace(false);
        if (!src.startsWith("::=", pos)) {
            throw error("expected '::=' after the rule name '" + name + "'");
        }
        pos += 3;
        skipSpace(true);
        int id = id(name);
        if (bodies.get(id) != null) {
            pos = start;
            throw error("rule '" + name + "' is defined twice");
        }
        Rx body = alternatives(false);
        if (pos < src.length() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
            throw error(src.charAt(pos) == ')' ? "unbalanced ')'" : "unexpected '" + describe(pos) + "'");
        }
        bodies.set(id, body);
    }

    private String name() {
        int start = pos;
        while (pos < src.length() && isNameChar(src.charAt(pos))) {
            pos++;
        }
        if (pos == start) {
            throw error(pos < src.length() ? "expected a rule name, found '" + describe(pos) + "'"
                    : "expected a rule name");
        }
        return src.substring(start, pos);
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    }

    private Rx alternatives(boolean nested) {
        List<Rx> options = new ArrayList<>();
        options.add(sequence(nested));
        while (pos < src.length() && src.charAt(pos) == '|') {
            pos++;
            skipSpace(true);
            options.add(sequence(nested));
        }
        return options.size() == 1 ? options.get(0) : new Rx.Alt(options);
    }

    private Rx sequence(boolean nested) {
        List<Rx> items = new ArrayList<>();
        int postfixRun = 0;
        while (pos < src.length()) {
            char c = src.charAt(pos);
            int at = pos;
            boolean postfix = c == '*' || c == '+' || c == '?' || c == '{';
            postfixRun = postfix ? postfixRun + 1 : 0;
            if (postfixRun > MAX_POSTFIX_RUN) {
                throw error("more than " + MAX_POSTFIX_RUN + " repetition operators in a row");
            }
            if (c == '"') {
                pos++;
                items.add(literal());
            } else if (c == '[') {
                pos++;
                items.add(charClass());
            } else if (c == '.') {
                pos++;
                items.add(CodePoints.range(0, CodePoints.MAX).toRx());
            } else if (isNameChar(c)) {
                String name = name();
                int id = id(name);
                firstUse.putIfAbsent(id, at);
                items.add(new Rx.Call(id));
            } else if (c == '(') {
                if (++depth > MAX_GROUP_DEPTH) {
                    throw error("parentheses nest more than " + MAX_GROUP_DEPTH + " deep");
                }
                pos++;
                skipSpace(true);
                Rx inner = alternatives(true);
                if (pos >= src.length() || src.charAt(pos) != ')') {
                    pos = at;
                    throw error("unbalanced '(': no ')' closes it");
                }
                pos++;
                depth--;
                items.add(inner);
            } else if (postfix) {
                if (items.isEmpty()) {
                    throw error("'" + c + "' has nothing before it to repeat");
                }
                items.add(repetition(items.remove(items.size() - 1), nested));
                continue;
            } else if (c == '<') {
                throw error("token references ('<...>') are not supported; write the token's text as a literal");
            } else {
                break;
            }
            skipSpace(nested);
        }
        return items.size() == 1 ? items.get(0) : new Rx.Seq(items);
    }

    private Rx repetition(Rx item, boolean nested) {
        char c = src.charAt(pos++);
        skipSpace(nested);
        return switch (c) {
            case '*' -> new Rx.Repeat(item, 0, -1);
            case '+' -> new Rx.Repeat(item, 1, -1);
            case '?' -> new Rx.Repeat(item, 0, 1);
            default -> {
                int min = count();
                skipSpace(nested);
                int max = min;
                if (pos < src.length() && src.charAt(pos) == ',') {
                    pos++;
                    skipSpace(nested);
                    max = pos < src.length() && Character.isDigit(src.charAt(pos)) ? count() : -1;
                    skipSpace(nested);
                }
                if (pos >= src.length() || src.charAt(pos) != '}') {
                    throw error("expected '}' to close the repetition count");
                }
                pos++;
                if (max >= 0 && max < min) {
                    throw error("repetition {" + min + "," + max + "} has its maximum below its minimum");
                }
                skipSpace(nested);
                yield new Rx.Repeat(item, min, max);
            }
        };
    }

    private int count() {
        int start = pos;
        while (pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '9') {
            pos++;
        }
        if (pos == start) {
            throw error("expected a number in the repetition count");
        }
        String digits = src.substring(start, pos);
        if (digits.length() > 6 || Integer.parseInt(digits) > MAX_REPEAT) {
            pos = start;
            throw error("repetition counts above " + MAX_REPEAT + " are not supported");
        }
        return Integer.parseInt(digits);
    }

    private Rx literal() {
        StringBuilder text = new StringBuilder();
        while (true) {
            if (pos >= src.length()) {
                throw error("unterminated string literal: no closing '\"'");
            }
            if (src.charAt(pos) == '"') {
                pos++;
                return Rx.literal(text.toString());
            }
            text.appendCodePoint(character());
        }
    }

    private Rx charClass() {
        int open = pos - 1;
        boolean negated = pos < src.length() && src.charAt(pos) == '^';
        if (negated) {
            pos++;
        }
        List<int[]> ranges = new ArrayList<>();
        while (true) {
            if (pos >= src.length()) {
                pos = open;
                throw error("unterminated character class: no closing ']'");
            }
            if (src.charAt(pos) == ']') {
                pos++;
                break;
            }
            int lo = character();
            int hi = lo;
            if (pos + 1 < src.length() && src.charAt(pos) == '-' && src.charAt(pos + 1) != ']') {
                pos++;
                int at = pos;
                hi = character();
                if (hi < lo) {
                    pos = at;
                    throw error("character range " + show(lo) + "-" + show(hi) + " is out of order");
                }
            }
            ranges.add(new int[] {lo, hi});
        }
        CodePoints set = CodePoints.of(ranges);
        return (negated ? set.complement() : set).toRx();
    }

    /** One character of a literal or class, escapes decoded. */
    private int character() {
        int at = pos;
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        if (c != '\\') {
            return c;
        }
        if (pos >= src.length()) {
            throw error("a '\\' ends the grammar");
        }
        char e = src.charAt(pos++);
        int cp = switch (e) {
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'n' -> '\n';
            case '\\', '"', '[', ']' -> e;
            default -> {
                pos = at;
                throw error("unknown escape '\\" + e + "' (known: \\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\])");
            }
        };
        if (cp > CodePoints.MAX || (cp >= 0xD800 && cp <= 0xDFFF)) {
            pos = at;
            throw error("escape '" + src.substring(at, Math.min(src.length(), at + 10)) + "' is not a character");
        }
        return cp;
    }

    private int hex(int digits) {
        int value = 0;
        for (int i = 0; i < digits; i++) {
            int d = pos < src.length() ? Character.digit(src.charAt(pos), 16) : -1;
            if (d < 0) {
                throw error("expected " + digits + " hexadecimal digits in the escape");
            }
            value = value * 16 + d;
            pos++;
            if (value > CodePoints.MAX) {
                break; // the caller refuses it; no overflow on 8 digits
            }
        }
        return value;
    }

    /** Skips blanks and comments, and line ends where {@code newlines} (inside groups, between rules). */
    private void skipSpace(boolean newlines) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            if (c == '#') {
                while (pos < src.length() && src.charAt(pos) != '\n' && src.charAt(pos) != '\r') {
                    pos++;
                }
            } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
                pos++;
            } else {
                return;
            }
        }
    }

    private String describe(int at) {
        return new String(Character.toChars(src.codePointAt(at)));
    }

    private static String show(int cp) {
        return cp >= 0x20 && cp < 0x7F ? String.valueOf((char) cp) : String.format("\\u%04X", cp);
    }

    private String where(int at) {
        int line = 1;
        int column = 1;
        for (int i = 0; i < at && i < src.length(); i++) {
            if (src.charAt(i) == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return "line " + line + ", column " + column;
    }

    private ConstraintException error(String message) {
        return new ConstraintException(field + ": " + message + " at " + where(pos) + " of the grammar");
    }
}
