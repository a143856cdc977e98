package io.tessera.core.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles the regular expressions of Hugging Face tokenizers, written for the Oniguruma engine,
 * as {@link java.util.regex} patterns that match the same text.
 *
 * <p>The two engines agree on the constructs these patterns use (alternation, {@code (?i:...)}
 * groups, lookahead, possessive quantifiers, atomic groups, {@code \p{L}}-style categories) once
 * Java's shorthand classes are made Unicode-aware: in Oniguruma {@code \s}, {@code \w} and
 * {@code \d} cover all of Unicode, in Java only ASCII unless {@link Pattern#UNICODE_CHARACTER_CLASS}
 * is set. What differs in spelling is rewritten: script and property names ({@code \p{Han}} is
 * {@code \p{IsHan}} in Java), negated properties ({@code \p{^L}}) and {@code \h}, which is a hex
 * digit in Oniguruma but horizontal space in Java. Oniguruma's default (Ruby) syntax makes
 * {@code ^} and {@code $} line anchors and lets {@code .} match anything but {@code \n}: Java
 * gets the same with {@link Pattern#MULTILINE} and {@link Pattern#UNIX_LINES}.
 */
final class OnigPattern {

    private OnigPattern() {
    }

    static Pattern compile(String onig) {
        try {
            return Pattern.compile(translate(onig),
                    Pattern.UNICODE_CHARACTER_CLASS | Pattern.MULTILINE | Pattern.UNIX_LINES);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("regex " + quote(onig) + " cannot be compiled: " + e.getDescription(), e);
        }
    }

    static String translate(String onig) {
        StringBuilder out = new StringBuilder(onig.length() + 16);
        int i = 0;
        while (i < onig.length()) {
            char c = onig.charAt(i);
            if (c != '\\' || i + 1 >= onig.length()) {
                out.append(c);
                i++;
                continue;
            }
            char e = onig.charAt(i + 1);
            if ((e == 'p' || e == 'P') && i + 2 < onig.length() && onig.charAt(i + 2) == '{') {
                int close = onig.indexOf('}', i + 3);
                if (close < 0) {
                    throw new IllegalArgumentException("regex " + quote(onig) + " has an unclosed \\" + e + "{");
                }
                String name = onig.substring(i + 3, close);
                boolean negated = e == 'P';
                if (name.startsWith("^")) {
                    negated = !negated;
                    name = name.substring(1);
                }
                out.append('\\').append(negated ? 'P' : 'p').append('{').append(javaProperty(name)).append('}');
                i = close + 1;
            } else if (e == 'h') {
                out.append("[0-9a-fA-F]");
                i += 2;
            } else if (e == 'H') {
                out.append("[^0-9a-fA-F]");
                i += 2;
            } else {
                out.append(c).append(e);
                i += 2;
            }
        }
        return out.toString();
    }

    /** General categories are spelled alike; scripts and binary properties take Java's "Is" prefix. */
    private static String javaProperty(String name) {
        if (name.length() <= 2 && !name.isEmpty() && Character.isUpperCase(name.charAt(0))) {
            return name;
        }
        if (name.contains("=") || name.startsWith("Is") || name.startsWith("In")) {
            return name;
        }
        return "Is" + name;
    }

    static String quote(String s) {
        return s.length() > 120 ? "'" + s.substring(0, 117) + "...'" : "'" + s + "'";
    }
}
