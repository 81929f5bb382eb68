using JobApi.Bench;
using JobApi.Hosting;
using JobApi.JobKinds;

// `serve ...`: the real service (same composition as src/JobApi) plus the benchmark's own kind.
// Anything else: the load driver (see Driver.cs and bench/README.md).
if (args.Length > 0 && args[0] == "serve")
    return await JobApiHost.RunAsync(args[1..], services => services.AddJobKind<TrialDivisionPrimes>());
return await Driver.RunAsync(args);
