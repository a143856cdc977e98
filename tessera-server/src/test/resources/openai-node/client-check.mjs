// Drives a running Tessera server with the official OpenAI Node SDK the way an application does:
// tool calls (non-streaming, streaming deltas assembled by hand, the SDK's stream helper), a tool
// result in the next turn, the SDK's runTools loop with a JS function, and embeddings in every
// input form and encoding. SDK-level facts are asserted here; the report on stdout (one JSON
// object) carries the tool-call arguments and the vectors, which the JUnit test validates against
// the schema and compares with what the server answers over plain HTTP.
//
// Environment: TESSERA_URL (server base URL), TESSERA_MODEL, TESSERA_WEATHER_SCHEMA and
// TESSERA_TIME_SCHEMA (the functions' JSON schemas).
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const client = new OpenAI({ baseURL: process.env.TESSERA_URL + '/v1', apiKey: 'none', maxRetries: 0,
  timeout: 120_000 });
const model = process.env.TESSERA_MODEL;
const weatherSchema = JSON.parse(process.env.TESSERA_WEATHER_SCHEMA);
const timeSchema = JSON.parse(process.env.TESSERA_TIME_SCHEMA);
const report = { sdkVersion: VERSION, calls: [] };

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
    parameters: weatherSchema } },
  { type: 'function', function: { name: 'get_time', description: 'The time in a zone', parameters: timeSchema } },
];
const messages = [
  { role: 'system', content: 'You are a weather bot.' },
  { role: 'user', content: 'What is the weather in Zürich?' },
];
// random weights: tool_choice required or named makes the reply a call whose arguments follow the schema
const forced = { model, messages, tools, tool_choice: 'required', parallel_tool_calls: false, seed: 5,
  temperature: 1, max_completion_tokens: 200 };

function record(source, name, args) {
  assert.doesNotThrow(() => JSON.parse(args), `${source}: arguments are JSON: ${args}`);
  report.calls.push({ source, name, arguments: args });
}

// (a) chat.completions.create, whole
const whole = await client.chat.completions.create(forced);
const wholeChoice = whole.choices[0];
assert.equal(wholeChoice.finish_reason, 'tool_calls');
assert.equal(wholeChoice.message.role, 'assistant');
assert.equal(wholeChoice.message.tool_calls.length, 1);
const wholeCall = wholeChoice.message.tool_calls[0];
assert.equal(wholeCall.type, 'function');
assert.match(wholeCall.id, /^call_/);
record('create', wholeCall.function.name, wholeCall.function.arguments);

// (a) streaming: assemble delta.tool_calls as an application does
const stream = await client.chat.completions.create({ ...forced, stream: true });
const assembled = [];
let finish = null;
let argumentPieces = 0;
for await (const chunk of stream) {
  for (const choice of chunk.choices) {
    for (const d of choice.delta.tool_calls ?? []) {
      const call = (assembled[d.index] ??= { id: '', name: '', arguments: '' });
      if (d.id) call.id = d.id;
      if (d.function?.name) call.name += d.function.name;
      if (d.function?.arguments) {
        call.arguments += d.function.arguments;
        argumentPieces++;
      }
    }
    finish = choice.finish_reason ?? finish;
  }
}
assert.equal(finish, 'tool_calls');
assert.equal(assembled.length, 1);
assert.match(assembled[0].id, /^call_/);
assert.ok(argumentPieces > 1, `arguments streamed in ${argumentPieces} pieces`);
// same seed, same tokens
assert.equal(assembled[0].name, wholeCall.function.name);
assert.equal(assembled[0].arguments, wholeCall.function.arguments);
record('stream-deltas', assembled[0].name, assembled[0].arguments);

// (a) the SDK's own stream helper assembles the same call
const helper = client.chat.completions.stream(forced);
const helped = await helper.finalChatCompletion();
const helpedCall = helped.choices[0].message.tool_calls[0];
assert.equal(helped.choices[0].finish_reason, 'tool_calls');
assert.equal(helpedCall.function.arguments, wholeCall.function.arguments);
record('stream-helper', helpedCall.function.name, helpedCall.function.arguments);

// (a) the tool's result in the next turn
const answered = await client.chat.completions.create({ model, tools, tool_choice: 'none',
  max_completion_tokens: 3, messages: [...messages, wholeChoice.message,
    { role: 'tool', tool_call_id: wholeCall.id, content: JSON.stringify({ temperature: 21 }) }] });
assert.ok(!answered.choices[0].message.tool_calls?.length, 'no call when tool_choice is none');
assert.equal(typeof answered.choices[0].message.content, 'string');
assert.ok(answered.usage.prompt_tokens > whole.usage.prompt_tokens, 'the call and its result are in the prompt');

// (b) runTools: the SDK calls the model, parses the arguments, runs the JS function, sends its result
const invocations = [];
const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
  parameters: weatherSchema, parse: JSON.parse,
  function: (args) => {
    invocations.push(args);
    return { city: args.city, unit: args.unit, temperature: 21 };
  } } };
// a named choice: the runner stops once that function ran (the SDK's rule for a named tool_choice);
// one call per reply, so that every call the model makes gets its result
const runner = client.chat.completions.runTools({ model, messages, tools: [weatherTool],
  tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false, seed: 11,
  temperature: 1, max_completion_tokens: 200 });
const result = await runner.finalFunctionToolCallResult();
assert.equal(invocations.length, 1);
assert.equal(result, JSON.stringify({ city: invocations[0].city, unit: invocations[0].unit, temperature: 21 }));
const runCall = await runner.finalFunctionToolCall();
assert.equal(runCall.name, 'get_weather');
assert.deepEqual(JSON.parse(runCall.arguments), invocations[0]);
record('runTools', runCall.name, runCall.arguments);
const toolMessage = runner.messages.at(-1);
assert.equal(toolMessage.role, 'tool');
assert.equal(toolMessage.content, result);

// ... and a second runner continues that conversation to the model's answer (tool_choice none keeps
// the random weights from calling again), streaming this time
const finisher = client.chat.completions.runTools({ model, messages: runner.messages, tools: [weatherTool],
  tool_choice: 'none', max_completion_tokens: 4, stream: true });
const answer = await finisher.finalContent();
assert.equal(typeof answer, 'string');
assert.equal(invocations.length, 1, 'no further call');
const final = await finisher.finalChatCompletion();
assert.ok(!final.choices[0].message.tool_calls?.length);
report.runToolsAnswer = answer;

// (c) embeddings
function norm(v) {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}
function assertUnit(v, what) {
  assert.ok(Math.abs(norm(v) - 1) < 1e-5, `${what}: unit length, got ${norm(v)}`);
}
function sameFloats(a, b, what) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.equal(Math.fround(a[i]), Math.fround(b[i]), `${what} [${i}]`);
  }
}
function decode(base64) {
  const buf = Buffer.from(base64, 'base64');
  return Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4));
}
const text = 'Once upon a time there was a cat.';
const segments = ['The dog ran.', 'A big red ball', 'Lily and Ben went to the park.'];
report.embeddings = {};
for (const [key, input] of [['text', text], ['segments', segments]]) {
  const count = Array.isArray(input) ? input.length : 1;
  const asFloat = await client.embeddings.create({ model, input, encoding_format: 'float' });
  // no encoding_format: the SDK asks for base64 and decodes it itself
  const byDefault = await client.embeddings.create({ model, input });
  const asBase64 = await client.embeddings.create({ model, input, encoding_format: 'base64' });
  for (const r of [asFloat, byDefault, asBase64]) {
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, count);
    r.data.forEach((d, i) => assert.equal(d.index, i));
    assert.ok(r.usage.prompt_tokens > 0);
  }
  const vectors = asFloat.data.map((d) => d.embedding);
  vectors.forEach((v, i) => {
    assertUnit(v, `${key}[${i}]`);
    assert.ok(Array.isArray(byDefault.data[i].embedding), 'the SDK decoded base64 to numbers');
    sameFloats(byDefault.data[i].embedding, v, `${key}[${i}] SDK-decoded base64 vs float`);
    assert.equal(typeof asBase64.data[i].embedding, 'string');
    sameFloats(decode(asBase64.data[i].embedding), v, `${key}[${i}] base64 vs float`);
  });
  report.embeddings[key] = vectors;
}

process.stdout.write(JSON.stringify(report) + '\n');
