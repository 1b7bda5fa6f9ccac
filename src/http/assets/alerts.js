async function act(id,what){const s=await (await fetch('/api/v1/session')).json();
 const note=prompt(what==='acknowledge'?'确认说明 / note':'处理结果 / resolution');if(note===null)return;
 const r=await fetch('/api/v1/alerts/'+id+'/'+what,{method:'POST',headers:{'content-type':'application/json','x-csrf-token':s.csrf||''},body:JSON.stringify({note})});
 if(r.ok)location.reload();else alert((await r.json()).error);}
