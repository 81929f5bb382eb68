using System.ComponentModel.DataAnnotations;
using JobApi.Engine;
using JobApi.Inputs;
using JobApi.JobKinds;
using JobApi.Options;
using JobApi.Workers;
using Microsoft.Extensions.Configuration.Json;
using StackExchange.Redis;

namespace JobApi.Hosting;

/// <summary>Composition of the engine: options, Redis (embedded or configured), the store, the worker role.</summary>
public static class EngineSetup
{
    /// <summary>Loads the service's <c>appsettings.json</c> (copied beside the binary) just after the
    /// default JSON files, so environment variables and the command line still override it.</summary>
    public static void AddServiceAppSettings(this ConfigurationManager configuration)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var sources = configuration.Sources;
        var lastJson = sources.Select((s, i) => (s, i)).LastOrDefault(p => p.s is JsonConfigurationSource).i;
        var source = new JsonConfigurationSource { Path = file, Optional = true, ReloadOnChange = false };
        source.ResolveFileProvider();
        sources.Insert(lastJson + 1, source);
    }

    public static JobApiOptions ReadOptions(IConfiguration configuration)
    {
        JobApiOptions options;
        try
        {
            options = configuration.GetSection(JobApiOptions.Section).Get<JobApiOptions>() ?? new JobApiOptions();
        }
        catch (InvalidOperationException e)
        {
            throw new StartupException($"Invalid configuration: {e.Message} {e.InnerException?.Message}");
        }
        var errors = new List<ValidationResult>();
        foreach (var part in new object[] { options, options.Worker, options.Limits, options.EmbeddedRedis, options.Durability, options.Scheduler, options.Webhooks, options.Queue, options.Auth, options.Auth.Jwt }
                     .Concat(options.Auth.ApiKeys))
            Validator.TryValidateObject(part, new ValidationContext(part), errors, validateAllProperties: true);
        if (options.Auth.ApiKeys.GroupBy(k => k.KeyHash.ToLowerInvariant()).Any(g => g.Count() > 1))
            errors.Add(new ValidationResult("JobApi:Auth:ApiKeys lists the same KeyHash twice; each key belongs to one tenant."));
        if (errors.Count > 0)
            throw new StartupException("Invalid configuration: " + string.Join(" ", errors.Select(e => e.ErrorMessage)));
        return options;
    }

    public static WebApplicationBuilder AddJobEngine(this WebApplicationBuilder builder)
    {
        var options = ReadOptions(builder.Configuration);
        builder.Services.AddOptions<JobApiOptions>().BindConfiguration(JobApiOptions.Section);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.Worker.ShutdownGrace + TimeSpan.FromSeconds(10));

        var connectionString = builder.Configuration.GetConnectionString("Redis");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            var embedded = EmbeddedRedis.Start(options.EmbeddedRedis, builder.Environment.ContentRootPath);
            builder.Services.AddSingleton(embedded);
            connectionString = embedded.ConnectionString;
            Console.WriteLine($"JobApi: no ConnectionStrings:Redis configured; started an embedded redis-server on {connectionString}.");
        }
        var redis = Connect(connectionString, options.Redis);
        builder.Services.AddSingleton<IConnectionMultiplexer>(redis);
        builder.Services.AddSingleton(new RedisKeys(options.KeyPrefix, options.Queue.Partitions));
        builder.Services.AddSingleton<FaultInjection>();
        builder.Services.AddSingleton<JobEvents>();
        builder.Services.AddSingleton(sp => RedisTopology.Of(sp.GetRequiredService<IConnectionMultiplexer>()));
        builder.Services.AddSingleton<TenantQuota>();
        builder.Services.AddSingleton<RedisMemoryGuard>();
        builder.Services.AddSingleton<ProgressPublisher>();
        builder.Services.AddSingleton<WorkerRegistry>();
        builder.Services.AddSingleton<JobOwners>();
        builder.Services.AddSingleton<RecentResults>();
        builder.Services.AddSingleton<JobStore>();
        builder.Services.AddSingleton<ShardQueue>();
        builder.Services.AddSingleton<IInputStore, RedisInputStore>();
        builder.Services.AddSingleton<WorkerIdentity>();
        builder.Services.AddBuiltInJobKinds();
        builder.Services.AddSingleton<DueJobs>();
        builder.Services.AddSingleton<ScheduleStore>();
        builder.Services.AddHostedService<LeaseReaper>();
        // Every node (any role) takes part in scheduling and webhook delivery; claims in Redis keep them apart.
        builder.Services.AddSingleton<WebhookDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        builder.Services.AddSingleton<Scheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Scheduler>());
        if (options.RunsWorker)
        {
            builder.Services.AddSingleton<JobMerger>();
            builder.Services.AddSingleton<ShardWorker>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ShardWorker>());
            builder.Services.AddSingleton<ILocalShardRunner>(sp => sp.GetRequiredService<ShardWorker>());
            builder.Services.AddHostedService<WorkerHeartbeat>();
        }
        return builder;
    }

    /// <summary>So that the service works as a Redis ACL user restricted to its key prefix and channels (docs/redis-acl.txt),
    /// the client's own extras outside them are off unless the connection string asks for them: the tie-breaker key and the
    /// configuration-change channel (for multi-primary setups the service does not use), and CONFIG GET (optional probing;
    /// an ACL user should not be able to read the server's configuration, which can hold passwords).</summary>
    private static void RestrictToServiceKeys(ConfigurationOptions config, string connectionString)
    {
        bool Mentions(string option) => connectionString.Contains(option, StringComparison.OrdinalIgnoreCase);
        if (!Mentions("tiebreaker=")) config.TieBreaker = "";
        if (!Mentions("configChannel=")) config.ConfigurationChannel = "";
        if (!Mentions("$")) config.CommandMap = CommandMap.Create(new HashSet<string> { "CONFIG" }, available: false);
    }

    /// <summary>A refused AUTH can leave a connection working as Redis's <c>default</c> user (where that user is open),
    /// which would silently run the service with more rights than its ACL user: the user is checked after connecting.</summary>
    private static void CheckUser(ConnectionMultiplexer redis, ConfigurationOptions config)
    {
        if (string.IsNullOrEmpty(config.User)) return;
        var whoami = (string?)redis.GetDatabase().Execute("ACL", "WHOAMI");
        if (whoami == config.User) return;
        redis.Dispose();
        throw new StartupException(
            $"Redis at '{string.Join(",", config.EndPoints)}' refused the credentials (user={config.User}; the connection is user '{whoami}'). " +
            "Fix user= and password= in ConnectionStrings:Redis (docs/SECURITY.md has the ACL line the service needs).");
    }

    private static ConnectionMultiplexer Connect(string connectionString, RedisClientOptions client)
    {
        ConfigurationOptions config;
        try
        {
            config = ConfigurationOptions.Parse(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new StartupException($"ConnectionStrings:Redis is not a valid StackExchange.Redis configuration string: {e.Message}");
        }
        RestrictToServiceKeys(config, connectionString);
        RedisTls.Configure(config, client);
        config.AbortOnConnectFail = true;
        config.ConnectTimeout = Math.Max(config.ConnectTimeout, 5000);
        config.ClientName ??= "jobapi";
        try
        {
            var redis = ConnectionMultiplexer.Connect(config);
            config.AbortOnConnectFail = false; // from now on, reconnect on its own
            CheckUser(redis, config);
            return redis;
        }
        catch (RedisConnectionException e) when (RedisTls.Refusal(config, e, client) is { } tls)
        {
            throw new StartupException(tls);
        }
        catch (RedisConnectionException e) when (e.FailureType == ConnectionFailureType.AuthenticationFailure)
        {
            // Never echo the connection string: it may hold a password.
            throw new StartupException(
                $"Redis at '{string.Join(",", config.EndPoints)}' refused the credentials (user={config.User ?? "default"}). " +
                "Fix user= and password= in ConnectionStrings:Redis (docs/SECURITY.md has the ACL line the service needs).");
        }
        catch (RedisConnectionException e)
        {
            throw new StartupException(
                $"Redis at '{string.Join(",", config.EndPoints)}' is unreachable ({e.FailureType}). Start it, fix ConnectionStrings:Redis, " +
                "or leave ConnectionStrings:Redis empty to use an embedded redis-server.");
        }
    }
}
