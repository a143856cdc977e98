package io.tessera.server.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Python's str and dict methods, as templates call them ({@code s.startswith('x')}, {@code d.items()}). */
final class Methods {
    private Methods() {
    }

    static Object dict(Map<?, ?> m, String name, List<Object> args) {
        return switch (name) {
            case "items" -> {
                List<Object> pairs = new ArrayList<>();
                m.forEach((k, v) -> {
                    List<Object> pair = new ArrayList<>(2);
                    pair.add(k);
                    pair.add(v);
                    pairs.add(new Py.Tuple(pair));
                });
                yield pairs;
            }
            case "keys" -> new ArrayList<Object>(m.keySet());
            case "values" -> new ArrayList<Object>(m.values());
            case "get" -> {
                Object k = args.isEmpty() ? null : Py.normalize(args.getFirst());
                yield m.containsKey(k) ? m.get(k) : args.size() > 1 ? args.get(1) : null;
            }
            default -> throw new IllegalStateException(name);
        };
    }

    static Object string(Budget budget, String s, String name, List<Object> args, Map<String, Object> kw) {
        Object a0 = args.isEmpty() ? null : args.get(0);
        return switch (name) {
            case "startswith", "endswith" -> {
                List<Object> options = a0 instanceof List<?> l ? new ArrayList<>(l) : List.of(requireString(a0, name));
                for (Object o : options) {
                    String p = requireString(o, name);
                    if (name.equals("startswith") ? s.startsWith(p) : s.endsWith(p)) {
                        yield true;
                    }
                }
                yield false;
            }
            case "strip" -> strip(s, a0 == null ? null : requireString(a0, name), true, true);
            case "lstrip" -> strip(s, a0 == null ? null : requireString(a0, name), true, false);
            case "rstrip" -> strip(s, a0 == null ? null : requireString(a0, name), false, true);
            case "split", "rsplit" -> {
                Object sep = Builtins.arg(args, kw, 0, "sep", null);
                long max = Py.toLong(Builtins.arg(args, kw, 1, "maxsplit", -1L));
                yield split(s, sep == null ? null : requireString(sep, name), max, name.equals("rsplit"));
            }
            case "splitlines" -> {
                List<Object> lines = new ArrayList<>();
                for (String line : s.split("\r\n|[\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]", -1)) {
                    lines.add(line);
                }
                if (!lines.isEmpty() && lines.getLast().equals("")) {
                    lines.removeLast();
                }
                yield lines;
            }
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> capitalize(s);
            case "replace" -> replace(budget, "the method 'replace'", s, requireString(a0, name),
                    requireString(args.size() > 1 ? args.get(1) : null, name), args.size() > 2 ? Py.toLong(args.get(2))
                    : -1);
            case "find" -> (long) s.indexOf(requireString(a0, name));
            case "rfind" -> (long) s.lastIndexOf(requireString(a0, name));
            case "count" -> {
                String t = requireString(a0, name);
                if (t.isEmpty()) {
                    yield (long) s.codePointCount(0, s.length()) + 1;
                }
                long n = 0;
                for (int i = s.indexOf(t); i >= 0; i = s.indexOf(t, i + t.length())) {
                    n++;
                }
                yield n;
            }
            case "join" -> {
                List<String> parts = new ArrayList<>();
                long total = 0;
                for (Object o : Py.iterate(a0)) {
                    String p = requireString(o, name);
                    total += p.length() + s.length();
                    budget.checkChars(total, "the method 'join'");
                    parts.add(p);
                }
                yield String.join(s, parts);
            }
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(Py::isSpace);
            case "isupper" -> !s.equals(s.toLowerCase(Locale.ROOT)) && s.equals(s.toUpperCase(Locale.ROOT));
            case "islower" -> !s.equals(s.toUpperCase(Locale.ROOT)) && s.equals(s.toLowerCase(Locale.ROOT));
            default -> throw new IllegalStateException(name);
        };
    }

    private static String requireString(Object o, String method) {
        if (!(o instanceof String s)) {
            throw new TemplateException("str." + method + "() needs a string argument, not " + Py.typeName(o));
        }
        return s;
    }

    /** Python's strip: whitespace, or any of the given characters, from either end. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int i = 0;
        int j = s.length();
        while (left && i < j && (chars == null ? Py.isSpace(s.charAt(i)) : chars.indexOf(s.charAt(i)) >= 0)) {
            i++;
        }
        while (right && j > i && (chars == null ? Py.isSpace(s.charAt(j - 1)) : chars.indexOf(s.charAt(j - 1)) >= 0)) {
            j--;
        }
        return s.substring(i, j);
    }

    static List<Object> split(String s, String sep, long max, boolean fromRight) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            String t = strip(s, null, true, true);
            if (t.isEmpty()) {
                return out;
            }
            String[] words = t.split("[\\s\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
                    + "\\u001c-\\u001f]+");
            if (max < 0 || max >= words.length - 1) {
                out.addAll(List.of(words));
                return out;
            }
            // rare: a bounded whitespace split keeps the rest of the string as is
            String rest = t;
            for (int k = 0; k < max; k++) {
                int at = 0;
                while (at < rest.length() && !Py.isSpace(rest.charAt(at))) {
                    at++;
                }
                out.add(rest.substring(0, at));
                rest = strip(rest.substring(at), null, true, false);
            }
            out.add(rest);
            return out;
        }
        if (sep.isEmpty()) {
            throw new TemplateException("empty separator");
        }
        if (fromRight) {
            List<Object> rev = new ArrayList<>();
            int end = s.length();
            for (int at = s.lastIndexOf(sep); at >= 0 && (max < 0 || rev.size() < max); at = s.lastIndexOf(sep,
                    at - 1)) {
                if (at + sep.length() > end) {
                    continue;
                }
                rev.add(s.substring(at + sep.length(), end));
                end = at;
                if (at == 0) {
                    break;
                }
            }
            rev.add(s.substring(0, end));
            for (int k = rev.size() - 1; k >= 0; k--) {
                out.add(rev.get(k));
            }
            return out;
        }
        int start = 0;
        for (int at = s.indexOf(sep); at >= 0 && (max < 0 || out.size() < max); at = s.indexOf(sep, start)) {
            out.add(s.substring(start, at));
            start = at + sep.length();
        }
        out.add(s.substring(start));
        return out;
    }

    static String replace(Budget budget, String what, String s, String old, String replacement, long count) {
        long n = 0;
        if (old.isEmpty()) {
            n = s.codePointCount(0, s.length()) + 1L;
        } else {
            for (int i = s.indexOf(old); i >= 0; i = s.indexOf(old, i + old.length())) {
                n++;
            }
        }
        if (count >= 0) {
            n = Math.min(n, count);
        }
        budget.checkChars(s.length() + n * (replacement.length() - (long) old.length()), what);
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder sb = new StringBuilder();
        int start = 0;
        for (long k = 0; k < count; k++) {
            int at = old.isEmpty() ? (k == 0 ? 0 : s.offsetByCodePoints(start, start < s.length() ? 1 : 0))
                    : s.indexOf(old, start);
            if (at < 0 || at > s.length() || old.isEmpty() && k > 0 && start >= s.length()) {
                break;
            }
            sb.append(s, start, at).append(replacement);
            start = at + old.length();
        }
        return sb.append(s.substring(Math.min(start, s.length()))).toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        int n = Character.charCount(first);
        return new String(Character.toChars(Character.toTitleCase(first))) + s.substring(n).toLowerCase(Locale.ROOT);
    }

    /** Jinja2's title filter: each word's first letter upper, the rest lower. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean start = true;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean letter = Character.isLetter(c);
            sb.append(letter ? (start ? Character.toUpperCase(c) : Character.toLowerCase(c)) : c);
            start = !letter && !Character.isDigit(c) && c != '\'';
        }
        return sb.toString();
    }
}
