package io.tessera.server.jinja;

import io.tessera.server.jinja.Ast.Node;
import java.util.List;
import java.util.Map;

/** A parsed Jinja2 template, rendered as Hugging Face's chat-template environment renders it. */
public final class JinjaTemplate {
    private final List<Node> body;

    private JinjaTemplate(List<Node> body) {
        this.body = body;
    }

    /**
     * @throws TemplateException when the source is not a valid template (the message names the line)
     */
    public static JinjaTemplate parse(String source) {
        return new JinjaTemplate(Parser.parse(source));
    }

    /**
     * Renders with the given variables (plain data: strings, numbers, booleans, null, lists, maps).
     *
     * @throws TemplateException.Raised when the template called {@code raise_exception}
     * @throws TemplateException.LimitExceeded when the rendering broke a limit
     * @throws TemplateException when the rendering failed otherwise (an undefined value used, a type error)
     */
    public String render(Map<String, Object> variables, RenderLimits limits) {
        try {
            return new Interpreter(new Budget(limits), variables).render(body);
        } catch (StackOverflowError e) {
            throw new TemplateException.LimitExceeded("the template recursed too deeply");
        } catch (ClassCastException | IndexOutOfBoundsException | ArithmeticException e) {
            throw new TemplateException("invalid operation: " + e.getMessage());
        }
    }
}
