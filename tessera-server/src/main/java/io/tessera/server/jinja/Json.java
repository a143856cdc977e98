package io.tessera.server.jinja;

import java.util.List;
import java.util.Map;

/**
 * {@code tojson} as Hugging Face defines it: Python's {@code json.dumps(x, ensure_ascii=False,
 * indent=indent, separators=separators, sort_keys=sort_keys)}, so non-ASCII text is kept and no
 * HTML characters are escaped (Jinja2's own tojson escapes them).
 */
final class Json {
    private Json() {
    }

    static String dumps(Budget budget, Object v, Object indent, Map<String, Object> kw) {
        String itemSep = ", ";
        String keySep = ": ";
        String pad = null;
        if (indent != null) {
            pad = indent instanceof String s ? s : " ".repeat((int) Math.max(0, Math.min(Py.toLong(indent), 64)));
            itemSep = ",";
        }
        Object separators = kw.get("separators");
        if (separators instanceof List<?> l && l.size() == 2) {
            itemSep = Py.str(l.get(0));
            keySep = Py.str(l.get(1));
        }
        boolean ensureAscii = Py.truthy(kw.getOrDefault("ensure_ascii", false));
        boolean sortKeys = Py.truthy(kw.getOrDefault("sort_keys", false));
        StringBuilder sb = new StringBuilder();
        write(budget, sb, v, pad, itemSep, keySep, ensureAscii, sortKeys, 0);
        return sb.toString();
    }

    private static void write(Budget budget, StringBuilder sb, Object v, String pad, String itemSep, String keySep,
            boolean ascii, boolean sortKeys, int level) {
        budget.step();
        budget.checkChars(sb.length(), "filter 'tojson'");
        if (level > 100) {
            throw new TemplateException("tojson: nesting too deep");
        }
        switch (v) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case String s -> string(sb, s, ascii);
            case Double d -> sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity"
                    : "-Infinity") : Py.reprFloat(d));
            case Number n -> sb.append(Py.repr(n));
            case List<?> l -> {
                if (l.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) {
                        sb.append(itemSep);
                    }
                    newline(sb, pad, level + 1);
                    write(budget, sb, l.get(i), pad, itemSep, keySep, ascii, sortKeys, level + 1);
                }
                newline(sb, pad, level);
                sb.append(']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<? extends Map.Entry<?, ?>> entries = List.copyOf(m.entrySet());
                if (sortKeys) {
                    entries = entries.stream().sorted((a, b) -> Py.compare(a.getKey(), b.getKey(), "<")).toList();
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : entries) {
                    if (!first) {
                        sb.append(itemSep);
                    }
                    first = false;
                    newline(sb, pad, level + 1);
                    Object k = e.getKey();
                    string(sb, k instanceof String s ? s : k == null ? "null" : k instanceof Boolean b
                            ? (b ? "true" : "false") : Py.repr(k), ascii);
                    sb.append(keySep);
                    write(budget, sb, e.getValue(), pad, itemSep, keySep, ascii, sortKeys, level + 1);
                }
                newline(sb, pad, level);
                sb.append('}');
            }
            case Py.Namespace n -> throw new TemplateException("Object of type Namespace is not JSON serializable");
            default -> {
                if (Py.isUndefined(v)) {
                    throw new TemplateException("Object of type Undefined is not JSON serializable");
                }
                throw new TemplateException("Object of type " + Py.typeName(v) + " is not JSON serializable");
            }
        }
    }

    private static void newline(StringBuilder sb, String pad, int level) {
        if (pad != null) {
            sb.append('\n').append(pad.repeat(level));
        }
    }

    private static void string(StringBuilder sb, String s, boolean ascii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || ascii && c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
