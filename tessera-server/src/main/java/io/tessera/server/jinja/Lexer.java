package io.tessera.server.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Jinja2's lexer with Hugging Face's settings ({@code trim_blocks}, {@code lstrip_blocks}): text,
 * {@code {{ }}} expressions, {@code {% %}} statements and {@code {# #}} comments, whitespace control
 * with {@code -} and {@code +}, {@code raw} blocks. Newlines are normalised to {@code \n} and one
 * trailing newline of the template is dropped, as Jinja2 does.
 */
final class Lexer {
    enum Type { TEXT, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INT, FLOAT, OP, EOF }

    record Token(Type type, String value, int line) {
        boolean is(Type t, String v) {
            return type == t && value.equals(v);
        }

        boolean isName(String v) {
            return is(Type.NAME, v);
        }

        boolean isOp(String v) {
            return is(Type.OP, v);
        }
    }

    private static final String[] OPERATORS = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "[",
        "]", "(", ")", "{", "}", "<", ">", "=", ".", ":", "|", ",", ";"};

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;
    /** Whether the last thing consumed ended a line (Jinja2's {@code line_starting}). */
    private boolean lineStarting = true;

    private Lexer(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        this.src = s;
    }

    static List<Token> tokenize(String source) {
        Lexer l = new Lexer(source);
        l.run();
        return l.out;
    }

    private TemplateException error(String message) {
        return new TemplateException("syntax error on line " + line + ": " + message);
    }

    private void run() {
        while (pos < src.length()) {
            int open = nextOpening(pos);
            String text = src.substring(pos, open < 0 ? src.length() : open);
            if (open < 0) {
                emitText(text);
                pos = src.length();
                break;
            }
            char kind = src.charAt(open + 1);
            char sign = open + 2 < src.length() ? src.charAt(open + 2) : 0;
            if (sign == '-') {
                text = rstrip(text);
            } else if (sign != '+' && kind != '{') {
                text = lstripBlock(text);
            }
            emitText(text);
            pos = open + 2 + (sign == '-' || sign == '+' ? 1 : 0);
            if (kind == '#') {
                comment();
            } else if (kind == '%' && rawBlock()) {
                // handled
            } else {
                tag(kind == '{');
            }
        }
        out.add(new Token(Type.EOF, "", line));
    }

    private int nextOpening(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    private void emitText(String text) {
        if (!text.isEmpty()) {
            out.add(new Token(Type.TEXT, text, line));
            line += count(text, '\n');
        }
    }

    /** lstrip_blocks: spaces before a block tag that starts its line are dropped. */
    private String lstripBlock(String text) {
        int lineStart = text.lastIndexOf('\n') + 1;
        if ((lineStart > 0 || lineStarting) && lineStart < text.length()) {
            for (int i = lineStart; i < text.length(); i++) {
                if (!Py.isSpace(text.charAt(i))) {
                    return text;
                }
            }
            return text.substring(0, lineStart);
        }
        return text;
    }

    private static String rstrip(String s) {
        int j = s.length();
        while (j > 0 && Py.isSpace(s.charAt(j - 1))) {
            j--;
        }
        return s.substring(0, j);
    }

    /** After a closing tag: {@code -} eats all whitespace, a block's plain close one newline (trim_blocks). */
    private void afterClose(char sign, boolean block) {
        if (sign == '-') {
            int start = pos;
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                pos++;
            }
            line += count(src.substring(start, pos), '\n');
            lineStarting = pos > start && src.charAt(pos - 1) == '\n';
        } else if (sign != '+' && block && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
            line++;
            lineStarting = true;
        } else {
            lineStarting = false;
        }
    }

    private void comment() {
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw error("missing end of comment tag");
        }
        char sign = end > pos && (src.charAt(end - 1) == '-' || src.charAt(end - 1) == '+') ? src.charAt(end - 1) : 0;
        line += count(src.substring(pos, end), '\n');
        pos = end + 2;
        afterClose(sign, true);
    }

    /** {@code {% raw %}...{% endraw %}}: the text between, untouched. */
    private boolean rawBlock() {
        int i = skipSpaces(pos);
        if (!src.startsWith("raw", i)) {
            return false;
        }
        int j = skipSpaces(i + 3);
        char sign = 0;
        if (j < src.length() && (src.charAt(j) == '-' || src.charAt(j) == '+')) {
            sign = src.charAt(j);
            j++;
        }
        if (!src.startsWith("%}", j)) {
            return false;
        }
        pos = j + 2;
        afterClose(sign, true);
        for (int k = src.indexOf("{%", pos); k >= 0; k = src.indexOf("{%", k + 1)) {
            int m = k + 2;
            char open = m < src.length() ? src.charAt(m) : 0;
            if (open == '-' || open == '+') {
                m++;
            }
            m = skipSpaces(m);
            if (src.startsWith("endraw", m)) {
                int n = skipSpaces(m + 6);
                char close = 0;
                if (n < src.length() && (src.charAt(n) == '-' || src.charAt(n) == '+')) {
                    close = src.charAt(n);
                    n++;
                }
                if (src.startsWith("%}", n)) {
                    String text = src.substring(pos, k);
                    if (open == '-') {
                        text = rstrip(text);
                    } else if (open != '+') {
                        text = lstripBlock(text);
                    }
                    emitText(text);
                    pos = n + 2;
                    afterClose(close, true);
                    return true;
                }
            }
        }
        throw error("missing end of raw directive");
    }

    private int skipSpaces(int i) {
        while (i < src.length() && Py.isSpace(src.charAt(i))) {
            i++;
        }
        return i;
    }

    /** The tokens of an expression or statement tag, up to its balanced close. */
    private void tag(boolean variable) {
        out.add(new Token(variable ? Type.VAR_BEGIN : Type.BLOCK_BEGIN, "", line));
        String close = variable ? "}}" : "%}";
        int depth = 0;
        while (true) {
            while (pos < src.length() && Py.isSpace(src.charAt(pos))) {
                if (src.charAt(pos) == '\n') {
                    line++;
                }
                pos++;
            }
            if (pos >= src.length()) {
                throw error("unexpected end of template, expected '" + close + "'");
            }
            if (depth == 0) {
                for (String sign : new String[] {"-", "+", ""}) {
                    if (src.startsWith(sign + close, pos) && !(variable && sign.equals("+"))) {
                        pos += sign.length() + 2;
                        out.add(new Token(variable ? Type.VAR_END : Type.BLOCK_END, "", line));
                        afterClose(sign.isEmpty() ? 0 : sign.charAt(0), !variable);
                        return;
                    }
                }
            }
            char c = src.charAt(pos);
            if (c == '\'' || c == '"') {
                out.add(new Token(Type.STRING, string(c), line));
            } else if (Character.isDigit(c)) {
                number();
            } else if (Character.isLetter(c) || c == '_') {
                int start = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                out.add(new Token(Type.NAME, src.substring(start, pos), line));
            } else {
                String op = null;
                for (String o : OPERATORS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) {
                    throw error("unexpected character '" + c + "'");
                }
                if (op.equals("(") || op.equals("[") || op.equals("{")) {
                    depth++;
                } else if (op.equals(")") || op.equals("]") || op.equals("}")) {
                    if (depth == 0) {
                        throw error("unexpected '" + op + "'");
                    }
                    depth--;
                }
                pos += op.length();
                out.add(new Token(Type.OP, op, line));
            }
        }
    }

    private void number() {
        int start = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos;
            pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                isFloat = true;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                    pos++;
                }
            } else {
                pos = save;
            }
        }
        String text = src.substring(start, pos).replace("_", "");
        out.add(new Token(isFloat ? Type.FLOAT : Type.INT, text, line));
    }

    /** A quoted string with Python's escapes. */
    private String string(char quote) {
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw error("unterminated string");
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                return sb.toString();
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case '\\' -> sb.append('\\');
                case '\'' -> sb.append('\'');
                case '"' -> sb.append('"');
                case 'a' -> sb.append('\u0007');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000b');
                case '0' -> sb.append('\0');
                case '\n' -> line++;
                case 'x' -> sb.appendCodePoint(hex(2));
                case 'u' -> sb.appendCodePoint(hex(4));
                case 'U' -> sb.appendCodePoint(hex(8));
                default -> sb.append('\\').append(e);
            }
        }
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("truncated \\x/\\u escape");
        }
        try {
            int cp = Integer.parseUnsignedInt(src.substring(pos, pos + digits), 16);
            if (!Character.isValidCodePoint(cp)) {
                throw error("invalid code point in escape");
            }
            pos += digits;
            return cp;
        } catch (NumberFormatException e) {
            throw error("invalid \\x/\\u escape");
        }
    }

    private static int count(String s, char c) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == c) {
                n++;
            }
        }
        return n;
    }
}
