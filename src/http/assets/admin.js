function siteTime(local){
  const guess=new Date(local+':00Z');
  const inTz=new Date(guess.toLocaleString('en-US',{timeZone:TZ}));
  const asUtc=new Date(guess.toLocaleString('en-US',{timeZone:'UTC'}));
  return new Date(guess.getTime()-(inTz-asUtc)).toISOString();
}
async function api(method,url,body,out){
  const el=document.getElementById(out);
  try{
    const r=await fetch(url,{method,headers:{'content-type':'application/json','x-csrf-token':CSRF},body:body===undefined?undefined:JSON.stringify(body)});
    const text=await r.text();let j={};try{j=JSON.parse(text)}catch(e){}
    if(!r.ok){el.className='bad';el.textContent=(j.error||text||r.status);return null;}
    el.className='ok';el.textContent=DONE;return j;
  }catch(e){el.className='bad';el.textContent=String(e);return null;}
}
function quantities(){
  const m=document.getElementById('r-meter');const q=document.getElementById('r-quantity');
  q.innerHTML='';for(const x of JSON.parse(m.selectedOptions[0].dataset.q)){const o=document.createElement('option');o.value=x[0];o.textContent=x[1];q.appendChild(o);}
}
async function reading(ev){
  ev.preventDefault();const f=ev.target;
  const body=[{meter:f.meter.value,quantity:f.quantity.value,time:siteTime(f.time.value),value:parseFloat(f.value.value),note:f.note.value||null}];
  if(await api('POST','/api/v1/readings',body,'r-out'))f.value.value='';
}
async function meterEvent(ev){
  ev.preventDefault();const f=ev.target;
  const body={kind:f.kind.value,time:siteTime(f.time.value),note:f.note.value};
  if(f.kind.value==='replacement'){body.old_final=f.old_final.value;body.new_initial=f.new_value.value;}
  else{body.new_value=f.new_value.value;}
  await api('POST','/api/v1/meters/'+encodeURIComponent(f.meter.value)+'/events',body,'e-out');
}
async function addUser(ev){
  ev.preventDefault();const f=ev.target;
  const body={name:f.name.value,display_name:f.display.value||null,role:f.role.value,password:f.password.value||null};
  if(await api('POST','/api/v1/users',body,'u-out'))location.reload();
}
async function changeUser(name,change){if(await api('PATCH','/api/v1/users/'+encodeURIComponent(name),change,'u-out'))location.reload();}
async function resetPassword(name){const p=prompt(PW_PROMPT);if(p)await changeUser(name,{password:p});}
async function newToken(ev){
  ev.preventDefault();const f=ev.target;
  const j=await api('POST','/api/v1/users/'+encodeURIComponent(f.user.value)+'/tokens',{label:f.label.value},'t-out');
  if(j){const o=document.getElementById('t-out');o.textContent=TOKEN_ONCE+' '+j.token;}
}
async function revoke(user,id){if(confirm(REVOKE+' '+user+' '+id+'?')&&await api('DELETE','/api/v1/users/'+encodeURIComponent(user)+'/tokens/'+id,undefined,'t-out'))location.reload();}
document.addEventListener('DOMContentLoaded',()=>{if(document.getElementById('r-meter'))quantities();});
