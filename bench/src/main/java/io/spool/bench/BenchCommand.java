package io.spool.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code spool bench}: measures a running Spool end to end over its HTTP API. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Submit jobs to a running gateway, confirm each completion through the API, and report "
            + "throughput and latency. The last line printed is one JSON object.")
public final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--url",
      defaultValue = "http://127.0.0.1:8080",
      description = "gateway base URL (default ${DEFAULT-VALUE})")
  String url;

  @Option(names = "--api-key", description = "API key, sent as Authorization: Bearer")
  String apiKey;

  @Option(
      names = "--jobs",
      defaultValue = "10000",
      description = "jobs to submit (default ${DEFAULT-VALUE})")
  int jobs;

  @Option(
      names = "--concurrency",
      defaultValue = "64",
      description = "requests in flight (default ${DEFAULT-VALUE})")
  int concurrency;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description = "submissions per second; 0 = unlimited (default)")
  double rate;

  @Option(
      names = "--type",
      defaultValue = "echo",
      description = "job type (default ${DEFAULT-VALUE})")
  String type;

  @Option(
      names = "--request",
      defaultValue = "{}",
      description = "job request JSON (default ${DEFAULT-VALUE})")
  String request;

  @Option(names = "--queue", description = "queue (default: the gateway's default queue)")
  String queue;

  @Option(
      names = "--warmup",
      defaultValue = "1000",
      description = "jobs run first, unmeasured, to warm the JVMs up (default ${DEFAULT-VALUE})")
  int warmup;

  @Option(
      names = "--timeout-secs",
      defaultValue = "900",
      description = "give up after (default ${DEFAULT-VALUE})")
  int timeoutSecs;

  @Option(
      names = "--wait-secs",
      defaultValue = "0",
      description =
          "0: poll each job's status (default); N: each of --concurrency callers submits one job and "
              + "long-polls it with GET /v1/jobs/{id}?wait_secs=N, as an ordinary application would")
  int waitSecs;

  @Option(
      names = "--pids",
      description =
          "processes whose CPU time to report per 1,000 jobs, name=pid comma-separated, "
              + "e.g. gateway=1234,worker=1235,postgres=$(pgrep -o -x postgres),redis=$(pgrep -o -x redis-server); "
              + "a process's children count with it (Postgres's backends); the bench itself is always reported")
  String pids;

  @Option(
      names = "--subscribers",
      defaultValue = "0",
      description =
          "WebSocket mode: hold this many sockets on the gateway and measure event delivery latency")
  int subscribers;

  @Option(
      names = "--jobs-per-socket",
      defaultValue = "1",
      description =
          "WebSocket mode: jobs each socket follows; above 1 they share /v1/ws (default ${DEFAULT-VALUE})")
  int jobsPerSocket;

  @Option(
      names = "--watch-jobs",
      defaultValue = "20",
      description =
          "WebSocket mode: sleep jobs the sockets watch, round robin (default ${DEFAULT-VALUE})")
  int watchJobs;

  @Option(
      names = "--event-interval-ms",
      defaultValue = "1000",
      description =
          "WebSocket mode: each watched job emits a progress event this often (default ${DEFAULT-VALUE})")
  int eventIntervalMillis;

  @Option(
      names = "--duration-secs",
      defaultValue = "90",
      description = "WebSocket mode: how long the watched jobs run (default ${DEFAULT-VALUE})")
  int durationSecs;

  @Option(
      names = "--gateway-pid",
      description = "WebSocket mode: the gateway's pid, to sample its memory")
  Long gatewayPid;

  @Option(
      names = "--llm-jobs",
      description =
          "LLM mode: serve a stand-in model on --model-port, submit this many llm jobs against it"
              + " (the worker's SPOOL_LLM_BASE_URL must be http://127.0.0.1:<port>/v1), follow each"
              + " over a WebSocket and measure delta -> client latency")
  int llmJobs;

  @Option(
      names = "--llm-deltas",
      defaultValue = "200",
      description = "LLM mode: deltas each stream sends (default ${DEFAULT-VALUE})")
  int llmDeltas;

  @Option(
      names = "--llm-interval-ms",
      defaultValue = "20",
      description = "LLM mode: the model sends a delta this often (default ${DEFAULT-VALUE})")
  int llmIntervalMillis;

  @Option(
      names = "--model-port",
      defaultValue = "18090",
      description = "LLM mode: the stand-in model's port (default ${DEFAULT-VALUE})")
  int modelPort;

  @Option(
      names = "--redis-url",
      description = "LLM mode: the Redis Spool uses, to count its commands (INFO commandstats)")
  String redisUrl;

  @Override
  public Integer call() throws Exception {
    ProcessCpu cpu;
    try {
      cpu = new ProcessCpu(ProcessCpu.parse(pids));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (llmJobs > 0) {
      if (llmDeltas < 1 || llmIntervalMillis < 1 || modelPort < 1 || modelPort > 65_535) {
        throw new ParameterException(
            spec.commandLine(),
            "--llm-deltas and --llm-interval-ms must be positive, --model-port a port");
      }
      var run =
          new LlmStreamRun(
              new LlmStreamRun.Options(
                  url,
                  apiKey,
                  llmJobs,
                  llmDeltas,
                  llmIntervalMillis,
                  modelPort,
                  redisUrl,
                  timeoutSecs),
              cpu);
      System.out.println(run.run());
      return run.clean() ? 0 : 1;
    }
    if (subscribers > 0) {
      if (jobsPerSocket < 1 || watchJobs < 1 || eventIntervalMillis < 1 || durationSecs < 1) {
        throw new ParameterException(
            spec.commandLine(),
            "--jobs-per-socket, --watch-jobs, --event-interval-ms and --duration-secs must be positive");
      }
      var run =
          new SubscriberRun(
              new SubscriberRun.Options(
                  url,
                  apiKey,
                  subscribers,
                  jobsPerSocket,
                  watchJobs,
                  eventIntervalMillis,
                  durationSecs,
                  gatewayPid,
                  timeoutSecs),
              cpu);
      System.out.println(run.run());
      return run.clean() ? 0 : 1;
    }
    if (jobs < 1
        || concurrency < 1
        || rate < 0
        || timeoutSecs < 1
        || warmup < 0
        || waitSecs < 0
        || waitSecs > 60) {
      throw new ParameterException(
          spec.commandLine(),
          "--jobs, --concurrency and --timeout-secs must be positive, "
              + "--rate and --warmup not negative, --wait-secs from 0 to 60");
    }
    if (warmup > 0) {
      System.out.printf("warming up with %d jobs...%n", warmup);
      new BenchRun(
              new BenchOptions(
                  url, apiKey, warmup, concurrency, 0, type, request, queue, timeoutSecs, waitSecs))
          .run();
    }
    var cpuBefore = cpu.sample();
    var result =
        new BenchRun(
                new BenchOptions(
                    url,
                    apiKey,
                    jobs,
                    concurrency,
                    rate,
                    type,
                    request,
                    queue,
                    timeoutSecs,
                    waitSecs))
            .run()
            .withCpu(cpuBefore, cpu.sample());
    System.out.println(result.summary());
    System.out.println(result.json());
    return result.clean() ? 0 : 1;
  }
}
