/**
 * A Jinja2-compatible template interpreter for chat templates: the language subset that models'
 * {@code chat_template}s use, with Python's value semantics (how {@code None}, booleans, numbers,
 * lists and dicts print and compare, Python's string methods, slicing), and Hugging Face's
 * environment ({@code trim_blocks}, {@code lstrip_blocks}, loop controls, {@code tojson} without
 * HTML escaping, {@code raise_exception}, {@code strftime_now}). Checked against Python's Jinja2
 * on real templates (ChatTemplateParityTest).
 *
 * <p>Templates are untrusted: every rendering runs within a {@link io.tessera.server.jinja.RenderLimits}
 * budget of steps, time and built size, and there is no way from a template to the JVM (no Java
 * methods or fields are reachable; values are Python-like data only).
 */
package io.tessera.server.jinja;
