using JobApi.Bench;
using JobApi.Hosting;
using JobApi.JobKinds;

// `serve ...`: the real service (same composition as src/JobApi) plus the benchmark's own kind.
// `scaling`: the worker/topology matrix of bench/scaling.sh (Scaling.cs). Anything else: the load driver (Driver.cs).
if (args.Length > 0 && args[0] == "serve")
    return await JobApiHost.RunAsync(args[1..], services => services.AddJobKind<TrialDivisionPrimes>());
if (args.Length > 0 && args[0] == "scaling") return await Scaling.RunAsync();
return await Driver.RunAsync(args);
