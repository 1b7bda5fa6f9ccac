async function points(unit){
 const p=prompt(POINTS);if(p===null)return;const note=prompt(WHY);if(!note)return;
 const r=await fetch('/api/v1/ratings/'+MONTH+'/committee',{method:'POST',headers:{'content-type':'application/json','x-csrf-token':CSRF},body:JSON.stringify({unit,points:p,note})});
 if(r.ok)location.reload();else alert((await r.json().catch(()=>({}))).error||r.status);
}
