#!/usr/bin/env node
// Minimal genred subscriber (Node, npm "zeromq" v6): prints the current
// genre of each stream and every genre change.
//
//   node tools/examples/subscribe.js [ENDPOINT] [--count N] [--timeout S]
//
// --count 0 (the default) means no limit, as in genre-sub and subscribe.py;
// Ctrl-C stops it quietly with status 0.
//
// Install the binding once with `npm install --prefix tools/examples`
// (tools/dev deps does it when npm is there).
"use strict"
const zmq = require("zeromq")

function parseArgs(argv) {
  const args = { endpoint: "tcp://127.0.0.1:5556", count: 0, timeout: 0 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--count") args.count = Number(argv[++i])
    else if (argv[i] === "--timeout") args.timeout = Number(argv[++i])
    else args.endpoint = argv[i]
  }
  return args
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const sub = new zmq.Subscriber({ receiveTimeout: args.timeout ? args.timeout * 1000 : -1 })
  process.on("SIGINT", () => {
    sub.close()
    process.exit(0)
  })
  sub.connect(args.endpoint)
  sub.subscribe("genre.probs", "genre.change")

  for (let seen = 0; !args.count || seen < args.count; seen++) {
    let topic, body
    try {
      ;[topic, body] = await sub.receive()
    } catch (err) {
      if (err.code !== "EAGAIN") throw err
      console.error(`subscribe.js: nothing received for ${args.timeout} s`)
      process.exitCode = 1
      break
    }
    const msg = JSON.parse(body.toString("utf8")) // UTF-8 JSON, "v": 1
    const stream = msg.stream.padEnd(10)
    if (topic.toString() === "genre.probs") {
      const what = msg.silence ? "(silence)" : `${msg.top} ${Math.round(100 * msg.p)}%`
      console.log(`genre.probs ${stream} ${what}`)
    } else {
      // null labels: silence, or (previous only) nothing announced yet
      const before = msg.previous ?? (msg.previous_silence ? "(silence)" : "(none)")
      console.log(`genre.change ${stream} ${before} -> ${msg.new ?? "(silence)"}`)
    }
  }
  sub.close()
}

main()
