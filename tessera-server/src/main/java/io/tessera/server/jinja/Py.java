package io.tessera.server.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python's value semantics over plain Java data: {@code null} is None, {@link Boolean}, integral
 * numbers as {@link Long} (other integral types accepted), {@link Double}, {@link String},
 * {@link List} (lists and tuples), {@link Map} (dicts, insertion-ordered), and {@link #UNDEFINED}.
 */
final class Py {
    private Py() {
    }

    /** Jinja2's default Undefined: prints empty, is false, iterates empty; most operations on it fail. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "Undefined";
        }
    };

    /** A named Undefined, so that the error says what was missing. */
    record Missing(String name) {
    }

    static boolean isUndefined(Object v) {
        return v == UNDEFINED || v instanceof Missing;
    }

    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte;
    }

    static boolean isNumber(Object v) {
        return v instanceof Number || v instanceof Boolean;
    }

    /** An int (bools are ints in Python), for arithmetic. */
    static boolean isIntLike(Object v) {
        return isInt(v) || v instanceof Boolean;
    }

    static long toLong(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) v).longValue();
    }

    static double toDouble(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) v).doubleValue();
    }

    static boolean truthy(Object v) {
        if (v == null || isUndefined(v)) {
            return false;
        }
        return switch (v) {
            case Boolean b -> b;
            case String s -> !s.isEmpty();
            case Double d -> d != 0;
            case Float f -> f != 0;
            case Number n -> n.longValue() != 0;
            case Collection<?> c -> !c.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        if (isUndefined(v)) {
            return "Undefined";
        }
        return switch (v) {
            case Boolean b -> "bool";
            case String s -> "str";
            case Double d -> "float";
            case Float f -> "float";
            case Number n -> "int";
            case Tuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Namespace n -> "Namespace";
            case Callable c -> "function";
            default -> "object";
        };
    }

    /** {@code str(v)}, as {@code {{ v }}} prints it. */
    static String str(Object v) {
        if (isUndefined(v)) {
            return "";
        }
        if (v instanceof String s) {
            return s;
        }
        return repr(v);
    }

    /** {@code repr(v)}. */
    static String repr(Object v) {
        if (v == null) {
            return "None";
        }
        if (isUndefined(v)) {
            return "";
        }
        return switch (v) {
            case Boolean b -> b ? "True" : "False";
            case String s -> reprString(s);
            case Double d -> reprFloat(d);
            case Float f -> reprFloat(f.doubleValue());
            case Number n -> Long.toString(n.longValue());
            case List<?> l -> {
                boolean tuple = l instanceof Tuple;
                StringBuilder sb = new StringBuilder(tuple ? "(" : "[");
                for (int i = 0; i < l.size(); i++) {
                    sb.append(i == 0 ? "" : ", ").append(repr(l.get(i)));
                }
                yield sb.append(tuple ? (l.size() == 1 ? ",)" : ")") : "]").toString();
            }
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("{");
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    sb.append(first ? "" : ", ").append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                    first = false;
                }
                yield sb.append('}').toString();
            }
            case Namespace n -> "<Namespace " + repr(n.values()) + ">";
            default -> "<" + typeName(v) + ">";
        };
    }

    static String reprFloat(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        // Java's Double.toString is the shortest repr too; only the layout differs from Python's
        BigDecimal b = new BigDecimal(Double.toString(d));
        double abs = Math.abs(d);
        if (abs >= 1e-4 && abs < 1e16) {
            String s = b.toPlainString();
            if (!s.contains(".")) {
                s += ".0";
            } else {
                s = s.replaceAll("0+$", "");
                if (s.endsWith(".")) {
                    s += "0";
                }
            }
            return s;
        }
        b = b.stripTrailingZeros();
        String digits = b.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - b.scale();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
    }

    static String reprString(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(quote);
        s.codePoints().forEach(c -> {
            if (c == quote || c == '\\') {
                sb.append('\\').appendCodePoint(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", c));
            } else if (!isPrintable(c)) {
                sb.append(c <= 0xff ? String.format("\\x%02x", c) : c <= 0xffff ? String.format("\\u%04x", c)
                        : String.format("\\U%08x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append(quote).toString();
    }

    /** Python's str.isprintable for one character: not a control, format, separator (but space) or unassigned. */
    private static boolean isPrintable(int c) {
        if (c == ' ') {
            return true;
        }
        int t = Character.getType(c);
        return !(t == Character.CONTROL || t == Character.FORMAT || t == Character.SURROGATE
                || t == Character.PRIVATE_USE || t == Character.UNASSIGNED || t == Character.SPACE_SEPARATOR
                || t == Character.LINE_SEPARATOR || t == Character.PARAGRAPH_SEPARATOR);
    }

    /** Python's {@code ==}. */
    static boolean eq(Object a, Object b) {
        if (isUndefined(a) || isUndefined(b)) {
            return isUndefined(a) && isUndefined(b);
        }
        if (a == null || b == null) {
            return a == b;
        }
        if (isNumber(a) && isNumber(b)) {
            if (isIntLike(a) && isIntLike(b)) {
                return toLong(a) == toLong(b);
            }
            return toDouble(a) == toDouble(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size() || (x instanceof Tuple) != (y instanceof Tuple)) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    /** Python's ordering of numbers, strings and lists; anything else is a TypeError. */
    static int compare(Object a, Object b, String op) {
        if (isNumber(a) && isNumber(b)) {
            if (isIntLike(a) && isIntLike(b)) {
                return Long.compare(toLong(a), toLong(b));
            }
            return Double.compare(toDouble(a), toDouble(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return compareCodePoints(x, y);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i), op);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        throw new TemplateException("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    private static int compareCodePoints(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i);
            int b = y.codePointAt(j);
            if (a != b) {
                return Integer.compare(a, b);
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Integer.compare(x.length() - i, y.length() - j);
    }

    /** The items a {@code for} loop or filter iterates: list elements, dict keys, string characters. */
    static List<Object> iterate(Object v) {
        if (v == null || isUndefined(v)) {
            if (v == null) {
                throw new TemplateException("'NoneType' object is not iterable");
            }
            return List.of();
        }
        return switch (v) {
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s -> {
                List<Object> chars = new ArrayList<>();
                s.codePoints().forEach(c -> chars.add(new String(Character.toChars(c))));
                yield chars;
            }
            case Collection<?> c -> new ArrayList<>(c);
            case Iterable<?> it -> {
                List<Object> l = new ArrayList<>();
                for (Iterator<?> i = it.iterator(); i.hasNext();) {
                    l.add(i.next());
                }
                yield l;
            }
            default -> throw new TemplateException("'" + typeName(v) + "' object is not iterable");
        };
    }

    static long length(Object v) {
        return switch (v) {
            case String s -> s.codePointCount(0, s.length());
            case Collection<?> c -> c.size();
            case Map<?, ?> m -> m.size();
            case null -> throw new TemplateException("object of type 'NoneType' has no len()");
            default -> {
                if (isUndefined(v)) {
                    yield 0;
                }
                throw new TemplateException("object of type '" + typeName(v) + "' has no len()");
            }
        };
    }

    /** A template's view of context data: integral numbers as Long, floats as Double, lists and maps copied. */
    static Object normalize(Object v) {
        return switch (v) {
            case null -> null;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Float f -> (double) f;
            case List<?> l -> {
                List<Object> copy = new ArrayList<>(l.size());
                for (Object o : l) {
                    copy.add(normalize(o));
                }
                yield copy;
            }
            case Map<?, ?> m -> {
                Map<Object, Object> copy = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    copy.put(normalize(e.getKey()), normalize(e.getValue()));
                }
                yield copy;
            }
            default -> v;
        };
    }

    /** A Python tuple: a list that prints with parentheses and never equals a list. */
    static final class Tuple extends ArrayList<Object> {
        Tuple(java.util.Collection<?> items) {
            super(items);
        }
    }

    /** A namespace() object: the one mutable value, whose attributes {@code set ns.x = ...} assigns. */
    record Namespace(Map<String, Object> values) {
    }

    /** A function a template can call: globals, macros, bound methods. */
    interface Callable {
        Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs);
    }
}
