using System.Text.Json;
using System.Text.Json.Nodes;

namespace JobApi.Bench;

/// <summary>Appends result lines in the peers' format ({"peer","scenario","setting","metric","value","unit",...})
/// to $PEERS_RESULTS (or prints them) so report.js puts our rows in the same table.</summary>
public sealed class Results(string? path)
{
    public void Add(string scenario, string setting, string metric, double value, string unit, object? extra = null)
    {
        var line = new JsonObject
        {
            ["peer"] = "jobapi", ["scenario"] = scenario, ["setting"] = setting, ["metric"] = metric,
            ["value"] = Math.Round(value, 4), ["unit"] = unit,
        };
        if (extra is not null)
            foreach (var (k, v) in JsonSerializer.SerializeToNode(extra)!.AsObject()) line[k] = v?.DeepClone();
        var text = line.ToJsonString();
        Console.WriteLine(text);
        if (path is not null) File.AppendAllText(path, text + "\n");
    }
}
