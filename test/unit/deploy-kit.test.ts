/**
 * The compose part of the deploy kit (deploy/compose.yaml, compose.pulseaudio.yaml, Dockerfile,
 * agent-entrypoint.sh, grafana/). Docker cannot run on the machines the tests run on, so the
 * files are checked for what would break a deployment: every environment variable a service of
 * ours sets is one its program (or the entrypoint, or libpulse) reads, the controller's settings
 * pass its own config validation, ports and paths agree between the files, the images are built
 * from stages the Dockerfile has, every `${VAR}` is in .env.example, and the dashboard takes its
 * data source from a variable.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../controller/src/config.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  devices?: string[];
  group_add?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  secrets?: string[];
  command?: string[] | string;
  user?: string;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
}

/** Compose's `!reset` (an override that empties a list) parses as an empty list. */
const RESET = { tag: '!reset', collection: 'seq' as const, resolve: () => [] };
const compose = parse(read('deploy/compose.yaml'), { customTags: [RESET] }) as Compose;
const pulse = parse(read('deploy/compose.pulseaudio.yaml'), { customTags: [RESET] }) as Compose;
const envExample = new Set([...read('deploy/.env.example').matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!));

/** A value as compose would interpolate it from a .env with every variable set to `sample`. */
function interpolate(value: string, sample = 'sample'): string {
  return value
    .replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_all, _name, fallback: string) => fallback)
    .replace(/\$\{([A-Z0-9_]+)(:\?[^}]*)?\}/g, sample);
}

/** Every environment variable name `files` mention (source text): what a program reads. */
function namesIn(files: string[], pattern: RegExp): Set<string> {
  return new Set(
    files.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(pattern)].map((m) => m[1]!)),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.(ts|cjs)$/.test(name) ? [path] : [];
  });
}

const CONTROLLER_ENV = namesIn(
  [join(ROOT, 'controller/src/config.ts')],
  /\b(EARSHOT_[A-Z0-9_]+|DATABASE_URL)\b/g,
);
const AGENT_ENV = namesIn(
  sourceFiles(join(ROOT, 'agent/src')),
  /\b(EARSHOT_AGENT_[A-Z0-9_]+|AUDIODRIVER|AUDIODEV|PULSE_LATENCY_MSEC)\b/g,
);
const ENTRYPOINT_ENV = namesIn([join(DEPLOY, 'agent-entrypoint.sh')], /\$\{?([A-Z][A-Z0-9_]+)/g);
/** Read by libpulse inside sox and pactl, not by the agent. */
const LIBPULSE_ENV = new Set(['PULSE_SERVER', 'PULSE_COOKIE']);

const { controller, agent } = compose.services;
const controllerEnv = controller!.environment!;
const agentEnv = { ...agent!.environment!, ...pulse.services.agent!.environment! };

describe('deploy/compose.yaml', () => {
  it('runs the controller on PostgreSQL, MinIO with its bucket, an agent, Prometheus and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'agent',
        'controller',
        'controller-b',
        'grafana',
        'haproxy',
        'minio',
        'minio-init',
        'postgres',
        'prometheus',
        'redis',
      ].sort(),
    );
    expect(interpolate(controllerEnv.DATABASE_URL!)).toMatch(
      /^postgres:\/\/earshot:[^@]+@postgres:5432\/earshot$/,
    );
    expect(compose.services.postgres!.environment).toMatchObject({
      POSTGRES_DB: 'earshot',
      POSTGRES_USER: 'earshot',
    });
    const init = compose.services['minio-init']!;
    expect(init.command).toEqual([expect.stringContaining('mc mb --ignore-existing "store/$$S3_BUCKET"')]);
    expect(controller!.depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      'minio-init': { condition: 'service_completed_successfully' },
    });
    for (const [name, service] of Object.entries(compose.services)) {
      const needs = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      for (const other of needs)
        expect(compose.services, `${name} depends on ${other}`).toHaveProperty(other);
    }
  });

  it("sets only the controller's own configuration variables, and values its validation accepts", () => {
    const unknown = Object.keys(controllerEnv).filter((name) => !CONTROLLER_ENV.has(name));
    expect(unknown).toEqual([]);
    const env = Object.fromEntries(
      Object.entries(controllerEnv).map(([k, v]) => [k, interpolate(String(v))]),
    );
    // A secret key must be real base64 of 32 bytes: the sample would be refused (rightly).
    env.EARSHOT_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig(env);
    expect(config).toMatchObject({
      production: true,
      dataDir: '/var/lib/earshot',
      httpPort: 8080,
      mqttPort: 1883,
    });
    expect(controller!.volumes).toContain(`controller-data:${config.dataDir}`);
  });

  it('publishes the ports the controller listens on', () => {
    const published = (controller!.ports ?? []).map((p) => interpolate(p).split(':').at(-1));
    expect(published).toEqual([controllerEnv.EARSHOT_HTTP_PORT, controllerEnv.EARSHOT_MQTT_PORT]);
  });

  it("sets only the agent's own variables (and its entrypoint's and libpulse's), and can enroll", () => {
    const known = new Set([...AGENT_ENV, ...ENTRYPOINT_ENV, ...LIBPULSE_ENV]);
    expect(Object.keys(agentEnv).filter((name) => !known.has(name))).toEqual([]);
    // The entrypoint enrolls with a token from the environment, against the controller's HTTP port.
    expect(ENTRYPOINT_ENV).toContain('EARSHOT_AGENT_ENROLL_TOKEN');
    expect(agent!.environment).toHaveProperty('EARSHOT_AGENT_ENROLL_TOKEN');
    expect(agentEnv.EARSHOT_AGENT_CONTROLLER_URL).toBe(
      `http://controller:${controllerEnv.EARSHOT_HTTP_PORT}`,
    );
    expect(agent!.depends_on).toMatchObject({ controller: { condition: 'service_healthy' } });
    // Its state (credential, cache) outlives the container.
    expect(agent!.volumes).toContain('agent-state:/var/lib/earshot-agent');
    expect(agentEnv.EARSHOT_AGENT_CONFIG).toMatch(/^\/var\/lib\/earshot-agent\//);
    expect(execFileSync('sh', ['-n', join(DEPLOY, 'agent-entrypoint.sh')]).toString()).toBe('');
  });

  it('gives the agent a sound card: /dev/snd with its group, or the PulseAudio socket', () => {
    expect(agent!.environment).toMatchObject({ AUDIODRIVER: 'alsa' });
    expect(agent!.devices).toEqual(['/dev/snd:/dev/snd']);
    expect(agent!.group_add).toHaveLength(1);
    const viaPulse = pulse.services.agent!;
    expect(viaPulse.environment).toMatchObject({ AUDIODRIVER: 'pulseaudio' });
    const socket = viaPulse.environment!.PULSE_SERVER!.replace(/^unix:/, '');
    expect(viaPulse.volumes!.some((v) => v.endsWith(`:${socket}`))).toBe(true);
    expect(viaPulse.devices).toEqual([]);
  });

  it('builds our images from stages of deploy/Dockerfile, with npm ci and npm run build', () => {
    const dockerfile = read('deploy/Dockerfile');
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
    for (const service of [controller!, agent!]) {
      expect(service.build).toMatchObject({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(stages).toContain(service.build!.target);
    }
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/^RUN npm run build && npm prune --omit=dev$/m);
    // What it copies from the repository exists.
    for (const [, sources] of dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm))
      for (const source of sources!.split(' ')) expect(existsSync(join(ROOT, source)), source).toBe(true);
    // It runs the programs package.json names.
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin;
    expect(dockerfile).toContain(`"${bin['earshot-controller']}", "run"`);
    expect(read('deploy/agent-entrypoint.sh')).toContain(`/opt/earshot/${bin['earshot-agent']}`);
  });

  it('mounts what Prometheus and Grafana are configured to read', () => {
    const prometheus = compose.services.prometheus!;
    const config = parse(read('deploy/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        authorization?: { credentials_file: string };
        static_configs: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; type: string; port: number }[];
      }[];
    };
    const mounts = new Map(prometheus.volumes!.map((v) => [v.split(':')[1], v.split(':')[0]]));
    expect(mounts.get('/etc/prometheus/prometheus.yml')).toBe('./prometheus/prometheus.yml');
    for (const rules of config.rule_files)
      expect(mounts.get(`/etc/prometheus/${rules}`)).toBe(`./prometheus/${rules}`);
    const job = config.scrape_configs.find((c) => c.job_name === 'earshot-controller')!;
    expect(job.static_configs[0]!.targets).toEqual([`controller:${controllerEnv.EARSHOT_HTTP_PORT}`]);
    // The cluster profile's second replica is scraped too, found by name (absent: no target).
    expect(job.dns_sd_configs).toEqual([
      { names: ['controller-b'], type: 'A', port: Number(controllerEnv.EARSHOT_HTTP_PORT) },
    ]);
    // The metrics token: a compose secret, at the path prometheus.yml reads.
    expect(prometheus.secrets).toEqual(['earshot_metrics_token']);
    expect(job.authorization!.credentials_file).toBe('/run/secrets/earshot_metrics_token');
    expect(compose.secrets).toHaveProperty('earshot_metrics_token');

    const grafana = compose.services.grafana!;
    expect(grafana.volumes).toContain('./grafana/earshot.json:/var/lib/grafana/dashboards/earshot.json:ro');
    const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yaml')) as {
      datasources: { type: string; url: string }[];
    };
    expect(datasources.datasources).toMatchObject([{ type: 'prometheus', url: 'http://prometheus:9090' }]);
    expect(prometheus.ports).toEqual(['127.0.0.1:9090:9090']);
    const dashboards = parse(read('deploy/grafana/provisioning/dashboards/earshot.yaml')) as {
      providers: { options: { path: string } }[];
    };
    expect(dashboards.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('declares its named volumes, and mounts only files that exist (or the operator creates)', () => {
    const created = ['./secrets/earshot-metrics-token', './agent-pulse-state'];
    for (const file of [compose, pulse])
      for (const service of Object.values(file.services))
        for (const volume of service.volumes ?? []) {
          const source = interpolate(volume).split(':')[0]!;
          if (source.startsWith('./')) {
            if (!created.includes(source)) expect(existsSync(join(DEPLOY, source)), volume).toBe(true);
          } else if (!source.startsWith('/') && !source.startsWith('sample')) {
            expect(compose.volumes, volume).toHaveProperty(source);
          }
        }
    expect(created).toContain(compose.secrets!.earshot_metrics_token!.file);
    // What the operator creates stays out of git.
    expect(read('deploy/.gitignore').split('\n')).toEqual(
      expect.arrayContaining(['.env', 'secrets/', 'agent-pulse-state/']),
    );
  });

  it('names in .env.example every variable it interpolates', () => {
    const fromShell = new Set(['HOME', 'XDG_RUNTIME_DIR']);
    const used = [read('deploy/compose.yaml'), read('deploy/compose.pulseaudio.yaml')].flatMap((text) =>
      [...text.matchAll(/(?<!\$)\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!),
    );
    expect([...new Set(used)].filter((name) => !envExample.has(name) && !fromShell.has(name))).toEqual([]);
  });
});

describe('deploy/compose.yaml, profile cluster: two replicas, Redis, HAProxy', () => {
  const services = compose.services;
  const replicaB = services['controller-b']!;
  const haproxyCfg = read('deploy/haproxy/haproxy.cfg');
  /** `server <name> <host>:<port>` lines of one backend section. */
  const serversOf = (backend: string) => {
    const section = haproxyCfg
      .split(/^(?=backend |frontend )/m)
      .find((s) => s.startsWith(`backend ${backend}\n`));
    return [...(section ?? '').matchAll(/^\s+server (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  };

  it('runs a second controller like the first: same image, settings, database, Redis and recordings volume', () => {
    for (const name of ['controller-b', 'redis', 'haproxy'])
      expect(services[name]!.profiles).toEqual(['cluster']);
    expect(replicaB.build).toEqual(controller!.build);
    expect(replicaB.image).toBe(controller!.image);
    expect(replicaB.environment).toEqual(controllerEnv);
    // One filesystem store (and one secret key file, unless EARSHOT_SECRET_KEY is set) for both.
    expect(replicaB.volumes).toEqual(controller!.volumes);
    expect(replicaB.depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
    // It publishes nothing: reached through the balancer.
    expect(replicaB.ports).toBeUndefined();
  });

  it('clusters MQTT through a Redis that persists, named by EARSHOT_REDIS_URL', () => {
    const redis = services.redis!;
    const command = redis.command as string[];
    expect(command.slice(0, 3)).toEqual(['redis-server', '--appendonly', 'yes']);
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(interpolate(controllerEnv.EARSHOT_REDIS_URL!)).toBe(''); // unset by default: one broker in memory
    const env = Object.fromEntries(
      Object.entries(controllerEnv).map(([k, v]) => [k, interpolate(String(v))]),
    );
    env.EARSHOT_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ ...env, EARSHOT_REDIS_URL: 'redis://redis:6379' }).redisUrl).toBe(
      'redis://redis:6379',
    );
  });

  it('balances HTTP and MQTT over both replicas, each checked by /readyz, and is trusted for X-Forwarded-For', () => {
    const http = controllerEnv.EARSHOT_HTTP_PORT;
    const mqtt = controllerEnv.EARSHOT_MQTT_PORT;
    expect(serversOf('controllers')).toEqual([
      `controller controller:${http}`,
      `controller-b controller-b:${http}`,
    ]);
    expect(serversOf('brokers')).toEqual([
      `controller controller:${mqtt}`,
      `controller-b controller-b:${mqtt}`,
    ]);
    expect(haproxyCfg).toMatch(new RegExp(`^\\s+bind :${http}$`, 'm'));
    expect(haproxyCfg).toMatch(new RegExp(`^\\s+bind :${mqtt}$`, 'm'));
    expect(haproxyCfg.match(/option httpchk GET \/readyz/g)).toHaveLength(2);
    expect(haproxyCfg).toMatch(new RegExp(`check port ${http}`));
    expect(haproxyCfg).toContain('option forwardfor');
    const balancer = services.haproxy!;
    expect(balancer.volumes).toEqual(['./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']);
    expect((balancer.ports ?? []).map((p) => interpolate(p).split(':').at(-1))).toEqual([http, mqtt]);
    // The address the replicas trust is the balancer's, fixed on the project network.
    const address = (balancer as { networks?: { default?: { ipv4_address?: string } } }).networks?.default
      ?.ipv4_address;
    expect(interpolate(controllerEnv.EARSHOT_TRUSTED_PROXIES!)).toBe(address);
  });

  it('has a configuration haproxy -c accepts (names that resolve only inside compose aside)', () => {
    let output = '';
    try {
      output = execFileSync('haproxy', ['-c', '-f', join(DEPLOY, 'haproxy/haproxy.cfg')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      const failed = error as { code?: string; stdout?: string; stderr?: string };
      if (failed.code === 'ENOENT')
        throw new Error('haproxy is missing: bash scripts/system-deps.sh installs it');
      throw new Error(`haproxy -c refused the configuration:\n${failed.stdout}${failed.stderr}`);
    }
    expect(output).toContain('Configuration file is valid');
  });
});

describe('deploy/grafana/earshot.json', () => {
  interface Panel {
    id: number;
    type: string;
    title: string;
    datasource?: { uid: string };
    targets?: { datasource?: { uid: string }; expr: string }[];
  }
  const dashboard = JSON.parse(read('deploy/grafana/earshot.json')) as {
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; type: string; query: string }[] };
  };

  it('takes its data source from a variable, in every panel and query', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    const fixed = dashboard.panels
      .filter((p) => p.type !== 'row')
      .flatMap((p) =>
        [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)].map((ds) => [p.title, ds?.uid]),
      )
      .filter(([, uid]) => uid !== `\${datasource}`);
    expect(fixed).toEqual([]);
  });

  it('has the fleet, recordings, uploads, meters and attendance rows, and unique panel ids', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(
      expect.arrayContaining([
        'Fleet',
        'Recordings',
        'Uploads',
        'Meters and listening',
        'Attendance',
        'Cluster',
      ]),
    );
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.panels.filter((p) => p.type !== 'row').every((p) => (p.targets ?? []).length > 0)).toBe(
      true,
    );
  });
});
