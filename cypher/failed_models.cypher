// name: failed_models
// description: Models that could not be extracted, with their one-sentence error.
// mode: read
MATCH (m:Model)
WHERE m.status = 'error'
RETURN m.source AS source, m.error AS error
ORDER BY source
