package io.tessera.core.structured;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The ways to state a constraint on generated text, each compiled to a {@link TokenConstraint}
 * over a vocabulary within fixed limits: a JSON schema, any JSON object, a regular expression, a
 * list of choices, a GBNF grammar. Compiling costs at most the limits' worth of automaton states,
 * whatever the input; a grammar with recursive rules is a {@link PushdownAutomaton} whose states
 * are built as texts reach them, within its own budgets.
 */
public final class Constraints {
    /** States the intermediate (Thompson) automaton may have. */
    public static final int MAX_NFA_STATES = 50_000;
    /** States the final automaton may have; each reached one keeps a token mask. */
    public static final int MAX_DFA_STATES = 5_000;
    /** Choices of a choice list at most. */
    public static final int MAX_CHOICES = 1024;

    private Constraints() {
    }

    /** Texts that are one JSON object. */
    public static Rx jsonObject() {
        return JsonGrammar.anyObject();
    }

    /** Texts a JSON schema describes; {@code field} names the request field in messages. */
    public static Rx jsonSchema(JsonNode schema, String field) {
        return JsonGrammar.schema(schema, field);
    }

    /** Texts the regular expression matches as a whole. */
    public static Rx regex(String regex, String field) {
        return RegexParser.parse(regex, CodePoints.range(0, CodePoints.MAX), field);
    }

    /** Exactly one of the choices. */
    public static Rx choice(List<String> choices, String field) {
        if (choices.isEmpty()) {
            throw new ConstraintException(field + ": at least one choice is needed");
        }
        if (choices.size() > MAX_CHOICES) {
            throw new ConstraintException(field + ": at most " + MAX_CHOICES + " choices are supported, got "
                    + choices.size());
        }
        List<Rx> options = new ArrayList<>();
        for (String c : choices) {
            options.add(Rx.literal(c));
        }
        return new Rx.Alt(options);
    }

    /**
     * Compiles a GBNF grammar (llama.cpp's format, start rule {@code root}) for a vocabulary;
     * {@code field} names the request field in messages.
     *
     * @throws ConstraintException naming the syntax error, the undefined or left-recursive rule,
     *     or the limit exceeded
     */
    public static TokenConstraint grammar(String gbnf, TokenVocabulary vocabulary, String field) {
        try {
            ByteAutomaton automaton = GbnfCompiler.compile(Gbnf.parse(gbnf, field), field, MAX_NFA_STATES,
                    MAX_DFA_STATES);
            return new TokenConstraint(automaton, vocabulary, field);
        } catch (ConstraintException e) {
            throw e.getMessage().startsWith(field) ? e : new ConstraintException(field + ": " + e.getMessage());
        }
    }

    /**
     * Compiles a language for a vocabulary.
     *
     * @throws ConstraintException if it is over the limits or admits no text
     */
    public static TokenConstraint compile(Rx language, TokenVocabulary vocabulary, String description) {
        try {
            return new TokenConstraint(Dfa.compile(language, MAX_NFA_STATES, MAX_DFA_STATES), vocabulary, description);
        } catch (ConstraintException e) {
            throw e.getMessage().startsWith(description) ? e : new ConstraintException(description + ": "
                    + e.getMessage());
        }
    }
}
